package firstboot

import (
	"encoding/binary"
	"fmt"
	"io"
	iofs "io/fs"
	"strings"

	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/filesystem/fat16"
	"github.com/diskfs/go-diskfs/filesystem/fat32"
)

// bpb is what this package needs from a FAT boot sector.
type bpb struct {
	bits            int // 16 or 32
	label           string
	bytesPerCluster int64
	fatStart        int64 // byte offset of the first FAT
	fatBytes        int64 // size of one FAT
	clusters        int64 // data clusters, numbered from 2
	fsInfoSector    int64 // FAT32 only
}

// readBPB decides the FAT type the way the specification does: a FAT32
// boot sector has a zero 16-bit FAT size. Counting clusters instead would
// call the RK1's 4 MiB FAT32 (8034 clusters) FAT16.
func readBPB(o *overlay) (bpb, error) {
	s := make([]byte, blockSize)
	if _, err := o.ReadAt(s, 0); err != nil {
		return bpb{}, fmt.Errorf("read boot sector: %w", err)
	}
	le16 := func(off int) int64 { return int64(binary.LittleEndian.Uint16(s[off:])) }
	le32 := func(off int) int64 { return int64(binary.LittleEndian.Uint32(s[off:])) }
	if s[510] != 0x55 || s[511] != 0xAA || (s[0] != 0xEB && s[0] != 0xE9) {
		return bpb{}, fmt.Errorf("%w: no FAT boot sector", ErrNoFAT)
	}
	bps, spc, reserved, nfats := le16(11), int64(s[13]), le16(14), int64(s[16])
	if bps != blockSize {
		return bpb{}, fmt.Errorf("%w: %d-byte sectors", ErrUnsupportedFAT, bps)
	}
	if spc == 0 || spc&(spc-1) != 0 || reserved == 0 || nfats == 0 {
		return bpb{}, fmt.Errorf("%w: boot sector has %d sectors per cluster, %d reserved, %d FATs", ErrCorruptFAT, spc, reserved, nfats)
	}
	if nfats != 2 {
		return bpb{}, fmt.Errorf("%w: %d FATs (only 2 are handled)", ErrUnsupportedFAT, nfats)
	}
	total := le16(19)
	if total == 0 {
		total = le32(32)
	}
	fatSectors, bits, labelAt := le16(22), 16, 43
	if fatSectors == 0 {
		fatSectors, bits, labelAt = le32(36), 32, 71
	}
	rootSectors := (le16(17)*32 + bps - 1) / bps
	data := total - reserved - nfats*fatSectors - rootSectors
	if fatSectors == 0 || data <= 0 || total*bps > o.size {
		return bpb{}, fmt.Errorf("%w: %d sectors with %d-sector FATs in a %d-byte partition", ErrCorruptFAT, total, fatSectors, o.size)
	}
	b := bpb{
		bits:            bits,
		label:           strings.TrimSpace(string(s[labelAt : labelAt+11])),
		bytesPerCluster: spc * bps,
		fatStart:        reserved * bps,
		fatBytes:        fatSectors * bps,
		clusters:        data / spc,
	}
	if bits == 16 && b.clusters < 4085 {
		return bpb{}, fmt.Errorf("%w: FAT12 (%d clusters)", ErrUnsupportedFAT, b.clusters)
	}
	if bits == 32 {
		b.fsInfoSector = le16(48)
	}
	return b, nil
}

func (b bpb) name() string { return fmt.Sprintf("FAT%d", b.bits) }

// fatFS is the part of go-diskfs's FAT filesystems this package uses.
type fatFS interface {
	ReadDir(p string) ([]iofs.DirEntry, error)
	Stat(name string) (iofs.FileInfo, error)
	Open(name string) (iofs.File, error)
	OpenFile(p string, flag int) (filesystem.File, error)
}

func openFAT(o *overlay, b bpb) (fatFS, error) {
	if err := compareFATs(o, b); err != nil {
		return nil, err
	}
	var (
		fs  fatFS
		err error
	)
	if b.bits == 32 {
		fs, err = fat32.Read(o, o.size, 0, blockSize)
	} else {
		fs, err = fat16.Read(o, o.size, 0, blockSize)
	}
	if o.readErr != nil {
		return nil, o.readErr
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptFAT, err)
	}
	return fs, nil
}

// freeClusters counts the free entries of the first FAT.
func freeClusters(o *overlay, b bpb) (int64, error) {
	width := int64(b.bits / 8)
	fat := make([]byte, (b.clusters+2)*width)
	if _, err := o.ReadAt(fat, b.fatStart); err != nil {
		return 0, fmt.Errorf("read FAT: %w", err)
	}
	var free int64
	for c := int64(2); c < b.clusters+2; c++ {
		var v uint32
		if width == 2 {
			v = uint32(binary.LittleEndian.Uint16(fat[c*2:]))
		} else {
			v = binary.LittleEndian.Uint32(fat[c*4:]) & 0x0FFFFFFF
		}
		if v == 0 {
			free++
		}
	}
	return free, nil
}

// invalidateFSInfo marks FAT32's free-cluster count and next-free hint
// unknown: go-diskfs v1.9.4 leaves them stale, and fsck.fat and the kernel
// recount when they read 0xFFFFFFFF.
func invalidateFSInfo(o *overlay, b bpb) error {
	if b.bits != 32 || b.fsInfoSector == 0 || b.fsInfoSector == 0xFFFF {
		return nil
	}
	unknown := []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	if _, err := o.WriteAt(unknown, b.fsInfoSector*blockSize+488); err != nil {
		return fmt.Errorf("update FSInfo: %w", err)
	}
	return nil
}

// readFile reads a whole file in one Read from offset 0. go-diskfs v1.9.4's
// File.Read returns bytes past the end of the file when a read starts
// inside a cluster, which io.ReadAll's growing buffer makes happen.
func readFile(fs fatFS, name string) ([]byte, error) {
	fi, err := fs.Stat(name)
	if err != nil {
		return nil, err
	}
	f, err := fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, buf); err != nil && len(buf) > 0 {
		return nil, err
	}
	return buf, nil
}

// compareFATs checks that the two FAT copies agree, as fsck.fat does;
// go-diskfs checks this for FAT32 only.
func compareFATs(o *overlay, b bpb) error {
	one, two := make([]byte, b.fatBytes), make([]byte, b.fatBytes)
	if _, err := o.ReadAt(one, b.fatStart); err != nil {
		return fmt.Errorf("read FAT: %w", err)
	}
	if _, err := o.ReadAt(two, b.fatStart+b.fatBytes); err != nil {
		return fmt.Errorf("read second FAT: %w", err)
	}
	for i := range one {
		if one[i] != two[i] {
			return fmt.Errorf("%w: the two FAT copies differ at byte %d", ErrCorruptFAT, i)
		}
	}
	return nil
}
