package rpiboot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// DefaultFirmwareDir is where usbboot's packages install the firmware
// directories msd/, mass-storage-gadget64/ and firmware/ (reference §6).
const DefaultFirmwareDir = "/usr/share/rpiboot"

// Payload is what the second stage boots so that the module's storage
// shows up as a USB disk (reference §5.1).
type Payload int

// Payloads.
const (
	// PayloadAuto picks the default for the chip: legacy msd for BCM2835
	// and BCM2837, the mass-storage-gadget for BCM2711 and BCM2712.
	PayloadAuto Payload = iota
	// PayloadMassStorageGadget is mass-storage-gadget64/: Linux from
	// boot.img, exporting the eMMC as 0a5c:0104. The only payload for the
	// CM5, upstream's default for the CM4 since 2025.
	PayloadMassStorageGadget
	// PayloadLegacyMSD is msd/: the VPU firmware that shows the eMMC as
	// 0a5c:0001. Slow to write; upstream deprecates it on the CM4.
	PayloadLegacyMSD
)

func (p Payload) String() string {
	switch p {
	case PayloadAuto:
		return "auto"
	case PayloadMassStorageGadget:
		return "mass-storage-gadget64"
	case PayloadLegacyMSD:
		return "msd"
	}
	return fmt.Sprintf("Payload(%d)", int(p))
}

// dir is the payload's directory in a firmware directory.
func (p Payload) dir() string {
	if p == PayloadLegacyMSD {
		return legacyDir
	}
	return "mass-storage-gadget64"
}

// legacyDir holds the legacy msd files, which also stand in for the
// copies rpiboot embeds.
const legacyDir = "msd"

// forChip resolves PayloadAuto and refuses legacy msd on the BCM2712
// (usbboot msd/README.md: not supported on Pi 5).
func (p Payload) forChip(c Chip) (Payload, error) {
	switch {
	case p == PayloadAuto && (c == BCM2711 || c == BCM2712):
		return PayloadMassStorageGadget, nil
	case p == PayloadAuto:
		return PayloadLegacyMSD, nil
	case p == PayloadLegacyMSD && c == BCM2712:
		return p, fmt.Errorf("%s payload on a %s (%s): %w", p, c.Module(), c, ErrUnsupported)
	case p != PayloadMassStorageGadget && p != PayloadLegacyMSD:
		return p, fmt.Errorf("%s: %w", p, ErrUnsupported)
	}
	return p, nil
}

// Firmware finds the files the boot stages ask for in a directory laid out
// like usbboot's: msd/, mass-storage-gadget64/ (with bootfiles.bin,
// config.txt, boot.img) and firmware/. It is safe for concurrent use.
type Firmware struct {
	dir  string
	fsys fs.FS
}

// NewFirmware returns the firmware in dir. Nothing is read until a file
// is opened.
func NewFirmware(dir string) *Firmware {
	return &Firmware{dir: dir, fsys: os.DirFS(dir)}
}

// File is a firmware file opened for reading.
type File struct {
	*io.SectionReader
	// Source is where the file was found, relative to the firmware
	// directory: "mass-storage-gadget64/config.txt", or
	// "mass-storage-gadget64/bootfiles.bin:2711/bootmain" for an archive
	// entry.
	Source string
	c      io.Closer
}

// Close releases the file.
func (f *File) Close() error { return f.c.Close() }

// checkName refuses names that would leave the firmware directory: any
// "..", as rpiboot does (main.c check_file), absolute paths and names
// io/fs cannot open.
func checkName(name string) error {
	if strings.Contains(name, "..") || strings.HasPrefix(name, "/") || strings.Contains(name, `\`) || !fs.ValidPath(name) || name == "." {
		return fmt.Errorf("%q: %w", name, ErrUnsafeName)
	}
	return nil
}

// Open opens the file name for a chip and payload, looking where rpiboot
// looks (reference §4.3; main.c check_file), in the payload's directory
// dir and for the chip's soc (2710, 2711, 2712):
//
//  1. dir/soc/name
//  2. the entry soc/name of dir/bootfiles.bin, if the archive exists
//  3. dir/name
//  4. rpiboot's embedded legacy msd files, here msd/: bootcode.bin and
//     start.elf for BCM2835/7; bootcode4.bin, and msd/start.elf for
//     start4.elf, for BCM2711.
//
// It fails with ErrUnsafeName for names outside the directory and with
// ErrNotFound if no place has the file.
func (fw *Firmware) Open(chip Chip, payload Payload, name string) (*File, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	payload, err := payload.forChip(chip)
	if err != nil {
		return nil, err
	}
	dir, soc := payload.dir(), chip.socDir()
	var tried []string
	try := func(p string) (*File, error) {
		tried = append(tried, p)
		return fw.openFile(p)
	}
	if f, err := try(path.Join(dir, soc, name)); f != nil || err != nil {
		return f, err
	}
	archive := path.Join(dir, bootfilesName)
	tried = append(tried, archive+":"+path.Join(soc, name))
	if f, err := fw.openEntry(archive, path.Join(soc, name)); f != nil || err != nil {
		return f, err
	}
	if f, err := try(path.Join(dir, name)); f != nil || err != nil {
		return f, err
	}
	if fallback := embedded(chip, name); fallback != "" && path.Join(legacyDir, fallback) != path.Join(dir, name) {
		if f, err := try(path.Join(legacyDir, fallback)); f != nil || err != nil {
			return f, err
		}
	}
	return nil, fmt.Errorf("%s for %s, %s: not in %s (firmware directory %s): %w",
		name, chip.Module(), payload, strings.Join(tried, ", "), fw.dir, ErrNotFound)
}

// embedded is the msd/ file that stands in for rpiboot's embedded copy of
// name, "" if rpiboot embeds none (main.c check_file's last resort: it
// has none for the BCM2712).
func embedded(chip Chip, name string) string {
	switch {
	case chip == BCM2711 && name == "bootcode4.bin":
		return name
	case chip == BCM2711 && name == "start4.elf":
		return "start.elf" // one msd start.elf for all chips since usbboot ed94c45
	case (chip == BCM2835 || chip == BCM2837) && (name == "bootcode.bin" || name == "start.elf"):
		return name
	}
	return ""
}

// openFile opens a regular file; (nil, nil) if it does not exist.
func (fw *Firmware) openFile(name string) (*File, error) {
	f, err := fw.fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("firmware %s: %w", name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("firmware %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil
	}
	ra, ok := f.(io.ReaderAt)
	if !ok {
		b, err := io.ReadAll(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("firmware %s: %w", name, err)
		}
		return &File{SectionReader: io.NewSectionReader(bytes.NewReader(b), 0, int64(len(b))), Source: name, c: f}, nil
	}
	return &File{SectionReader: io.NewSectionReader(ra, 0, st.Size()), Source: name, c: f}, nil
}

// openEntry opens the entry of an archive; (nil, nil) if the archive or
// the entry does not exist.
func (fw *Firmware) openEntry(archive, entry string) (*File, error) {
	a, err := fw.openFile(archive)
	if a == nil || err != nil {
		return nil, err
	}
	off, n, err := findInArchive(a.SectionReader, a.Size(), entry)
	if errors.Is(err, ErrNotFound) {
		a.Close()
		return nil, nil
	}
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("firmware %s: %w", archive, err)
	}
	return &File{SectionReader: io.NewSectionReader(a.SectionReader, off, n), Source: archive + ":" + entry, c: a.c}, nil
}
