package ptable

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// SectorSize is the logical sector size the tables are read with.
const SectorSize = 512

// Scheme names the kind of partition table.
type Scheme string

// The partition table schemes Read understands.
const (
	SchemeMBR Scheme = "mbr"
	SchemeGPT Scheme = "gpt"
)

// Sentinel errors; Read wraps them with the details it found.
var (
	ErrNoTable     = errors.New("no partition table")
	ErrCorrupt     = errors.New("corrupt partition table")
	ErrPastDisk    = errors.New("partition table points past the end of the disk")
	ErrNoPartition = errors.New("partition table holds no partition")
)

// Partition is one used slot of a partition table.
type Partition struct {
	Index int    // 1-based, as Linux numbers partitions
	Start int64  // byte offset on the disk
	Size  int64  // bytes
	Type  string // MBR: two hex digits such as "0c"; GPT: the type GUID in upper case
	Name  string // GPT partition name; empty for MBR
}

// Table is a parsed partition table.
type Table struct {
	Scheme     Scheme
	Partitions []Partition
}

// Read parses the partition table of a disk of diskSize bytes. A diskSize of
// zero or less means the size is unknown (a stream whose length is not yet
// known), and the past-the-end check is skipped.
func Read(r io.ReaderAt, diskSize int64) (Table, error) {
	mbr := make([]byte, SectorSize)
	if _, err := r.ReadAt(mbr, 0); err != nil {
		return Table{}, fmt.Errorf("read sector 0: %w", err)
	}
	return parse(mbr, r, diskSize)
}

func parse(mbr []byte, r io.ReaderAt, diskSize int64) (Table, error) {
	if mbr[510] != 0x55 || mbr[511] != 0xAA {
		return Table{}, fmt.Errorf("%w: sector 0 lacks the 55AA signature", ErrNoTable)
	}
	for i := range 4 {
		if mbr[446+16*i+4] == 0xEE {
			return readGPT(r, diskSize)
		}
	}
	return parseMBR(mbr, diskSize)
}

func parseMBR(mbr []byte, diskSize int64) (Table, error) {
	t := Table{Scheme: SchemeMBR}
	for i := range 4 {
		e := mbr[446+16*i : 446+16*(i+1)]
		typ := e[4]
		startLBA := int64(binary.LittleEndian.Uint32(e[8:]))
		sectors := int64(binary.LittleEndian.Uint32(e[12:]))
		if typ == 0 || sectors == 0 {
			continue
		}
		if startLBA == 0 {
			return Table{}, fmt.Errorf("%w: MBR partition %d starts at sector 0", ErrCorrupt, i+1)
		}
		p := Partition{Index: i + 1, Start: startLBA * SectorSize, Size: sectors * SectorSize, Type: fmt.Sprintf("%02x", typ)}
		if err := checkEnd(p, diskSize); err != nil {
			return Table{}, err
		}
		t.Partitions = append(t.Partitions, p)
	}
	if len(t.Partitions) == 0 {
		return Table{}, fmt.Errorf("%w (MBR)", ErrNoPartition)
	}
	return t, nil
}

func checkEnd(p Partition, diskSize int64) error {
	if diskSize > 0 && p.Start+p.Size > diskSize {
		return fmt.Errorf("%w: partition %d ends at byte %d, the disk has %d", ErrPastDisk, p.Index, p.Start+p.Size, diskSize)
	}
	return nil
}
