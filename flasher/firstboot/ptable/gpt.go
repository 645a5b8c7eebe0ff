package ptable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"unicode/utf16"
)

// Bounds that keep a corrupt header from making Read allocate or loop
// without end; real tables hold 128 entries of 128 bytes.
const (
	maxGPTEntries   = 1024
	maxGPTEntrySize = 4096
)

func readGPT(r io.ReaderAt, diskSize int64) (Table, error) {
	hdr := make([]byte, SectorSize)
	if _, err := r.ReadAt(hdr, SectorSize); err != nil {
		return Table{}, fmt.Errorf("read GPT header: %w", err)
	}
	if !bytes.Equal(hdr[:8], []byte("EFI PART")) {
		return Table{}, fmt.Errorf("%w: protective MBR but no GPT header in sector 1", ErrCorrupt)
	}
	hdrSize := binary.LittleEndian.Uint32(hdr[12:])
	if hdrSize < 92 || hdrSize > SectorSize {
		return Table{}, fmt.Errorf("%w: GPT header size %d", ErrCorrupt, hdrSize)
	}
	want := binary.LittleEndian.Uint32(hdr[16:])
	h := make([]byte, hdrSize)
	copy(h, hdr[:hdrSize])
	clear(h[16:20])
	if got := crc32.ChecksumIEEE(h); got != want {
		return Table{}, fmt.Errorf("%w: GPT header CRC %08x, expected %08x", ErrCorrupt, got, want)
	}
	entriesLBA := int64(binary.LittleEndian.Uint64(hdr[72:]))
	count := binary.LittleEndian.Uint32(hdr[80:])
	size := binary.LittleEndian.Uint32(hdr[84:])
	if count == 0 || count > maxGPTEntries || size < 128 || size > maxGPTEntrySize || size%8 != 0 {
		return Table{}, fmt.Errorf("%w: GPT has %d entries of %d bytes", ErrCorrupt, count, size)
	}
	if entriesLBA < 2 || entriesLBA > 1<<40 {
		return Table{}, fmt.Errorf("%w: GPT entries at sector %d", ErrCorrupt, entriesLBA)
	}
	if end := (entriesLBA*SectorSize + int64(count)*int64(size)); diskSize > 0 && end > diskSize {
		return Table{}, fmt.Errorf("%w: GPT entries end at byte %d, the disk has %d", ErrPastDisk, end, diskSize)
	}
	raw := make([]byte, int(count)*int(size))
	if _, err := r.ReadAt(raw, entriesLBA*SectorSize); err != nil {
		return Table{}, fmt.Errorf("read GPT entries: %w", err)
	}
	if got, want := crc32.ChecksumIEEE(raw), binary.LittleEndian.Uint32(hdr[88:]); got != want {
		return Table{}, fmt.Errorf("%w: GPT entries CRC %08x, expected %08x", ErrCorrupt, got, want)
	}
	return parseGPTEntries(raw, int(size), diskSize)
}

func parseGPTEntries(raw []byte, size int, diskSize int64) (Table, error) {
	t := Table{Scheme: SchemeGPT}
	for i := 0; i+size <= len(raw); i += size {
		e := raw[i : i+size]
		if isZero(e[:16]) {
			continue
		}
		first := binary.LittleEndian.Uint64(e[32:])
		last := binary.LittleEndian.Uint64(e[40:])
		if first == 0 || last < first || last >= 1<<40 {
			return Table{}, fmt.Errorf("%w: GPT partition %d spans sectors %d to %d", ErrCorrupt, i/size+1, first, last)
		}
		p := Partition{
			Index: i/size + 1,
			Start: int64(first) * SectorSize,
			Size:  int64(last-first+1) * SectorSize,
			Type:  guid(e[:16]),
			Name:  utf16Name(e[56:128]),
		}
		if err := checkEnd(p, diskSize); err != nil {
			return Table{}, err
		}
		t.Partitions = append(t.Partitions, p)
	}
	if len(t.Partitions) == 0 {
		return Table{}, fmt.Errorf("%w (GPT)", ErrNoPartition)
	}
	return t, nil
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// guid formats a GPT GUID, whose first three groups are little-endian.
func guid(b []byte) string {
	return fmt.Sprintf("%08X-%04X-%04X-%X-%X",
		binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint16(b[4:]),
		binary.LittleEndian.Uint16(b[6:]), b[8:10], b[10:16])
}

func utf16Name(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return strings.ToValidUTF8(string(utf16.Decode(u)), "?")
}
