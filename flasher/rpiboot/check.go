package rpiboot

import (
	"errors"
	"fmt"
)

// FirmwareFile is one file a boot asks for and where the firmware
// directory has it.
type FirmwareFile struct {
	Name string
	// Required: the boot cannot go on without it (the second stage, and
	// what the file server refuses to answer as missing).
	Required bool
	// Size and Source (File.Source) describe the file found; Err is set
	// instead when it was not found or could not be read.
	Size   int64
	Source string
	Err    error
}

// Dir is the firmware directory.
func (fw *Firmware) Dir() string { return fw.dir }

// Files lists the files a module with chip asks for when it boots to
// payload, in the order it asks for them (reference §5.1: the logs of
// usbboot#335, #306, #102), each looked up where Open looks. Optional
// files the second stage asks for but boots without (config.txt of the
// legacy msd, pieeprom.sig, fixup*.dat) are left out. It fails only for a
// payload the chip does not have.
func (fw *Firmware) Files(chip Chip, payload Payload) ([]FirmwareFile, error) {
	payload, err := payload.forChip(chip)
	if err != nil {
		return nil, err
	}
	names := []string{chip.secondStageFile()}
	switch {
	case payload == PayloadLegacyMSD && chip == BCM2711:
		names = append(names, "start4.elf")
	case payload == PayloadLegacyMSD:
		names = append(names, "start.elf")
	default:
		memsys := 9
		if chip == BCM2712 {
			memsys = 4
		}
		names = append(names, "mcb.bin")
		for i := range memsys {
			names = append(names, fmt.Sprintf("memsys%02d.bin", i))
		}
		names = append(names, "bootmain", "config.txt", "boot.img")
	}
	out := make([]FirmwareFile, 0, len(names))
	for i, name := range names {
		ff := FirmwareFile{Name: name, Required: i == 0 || required(name) || name == "config.txt"}
		f, err := fw.Open(chip, payload, name)
		if err != nil {
			ff.Err = err
		} else {
			ff.Size, ff.Source = f.Size(), f.Source
			ff.Err = f.Close()
		}
		out = append(out, ff)
	}
	return out, nil
}

// Missing joins the errors of the required files that were not found.
func Missing(files []FirmwareFile) error {
	var errs []error
	for _, f := range files {
		if f.Required && f.Err != nil {
			errs = append(errs, f.Err)
		}
	}
	return errors.Join(errs...)
}
