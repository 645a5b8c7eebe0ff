package bmc

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal"
)

// FirmwareHint says where the rpiboot firmware goes on a Turing Pi 2,
// whose v2.4 controller cannot hold it in its writable overlay.
const FirmwareHint = "put usbboot's firmware (mass-storage-gadget64/ and msd/, as the rpiboot package installs them in /usr/share/rpiboot) " +
	"on the controller's SD card, e.g. /mnt/sdcard/rpiboot, and set flash.firmware_dir to that directory: " +
	"the CM4's boot.img (about 31.5 MB) does not fit the v2.4 controller's 29 MB writable overlay"

func (c *Checker) firmwareFinding(chip rpiboot.Chip, required bool) hal.Finding {
	f := hal.Finding{Name: fmt.Sprintf("rpiboot firmware for the %s", chip.Module())}
	files, err := c.Firmware.Files(chip, c.Payload)
	if err != nil {
		f.Status, f.Detail = hal.CheckSkip, err.Error()
		return f
	}
	var have, missing, sources []string
	var memsys, memsysBytes int64
	optional := 0
	for _, ff := range files {
		switch {
		case ff.Err == nil && strings.HasPrefix(ff.Name, "memsys"):
			memsys, memsysBytes = memsys+1, memsysBytes+ff.Size
		case ff.Err == nil:
			have = append(have, fmt.Sprintf("%s %d B", ff.Name, ff.Size))
		case ff.Required:
			missing = append(missing, ff.Name)
		default:
			optional++
		}
		// Where each file came from: a directory, or the archive and the
		// chip's directory in it.
		if src := path.Dir(ff.Source); ff.Err == nil && !slices.Contains(sources, src) {
			sources = append(sources, src)
		}
	}
	if memsys > 0 {
		have = append(have, fmt.Sprintf("memsys*.bin %d files %d B", memsys, memsysBytes))
	}
	f.Detail = fmt.Sprintf("in %s (%s): %s", c.Firmware.Dir(), strings.Join(sources, ", "), strings.Join(have, ", "))
	if len(have) == 0 {
		f.Detail = "in " + c.Firmware.Dir() + ": none"
	}
	if optional > 0 {
		missing = append(missing, fmt.Sprintf("%d optional files", optional))
	}
	f.Status = hal.CheckOK
	switch {
	case len(missing) == 0:
	case !required:
		// The first chip's finding says where the firmware goes.
		f.Status, f.Detail = hal.CheckWarn, fmt.Sprintf("missing %s (needed only to flash a %s); found %s", strings.Join(missing, ", "), chip.Module(), f.Detail)
	default:
		f.Status = hal.CheckWarn
		if rpiboot.Missing(files) != nil {
			f.Status = hal.CheckFail
		}
		f.Detail = fmt.Sprintf("missing %s; found %s; %s%s", strings.Join(missing, ", "), f.Detail, FirmwareHint, spaceNote(c.Firmware.Dir()))
	}
	return f
}

// FirmwareWarnings checks the firmware a board flashes its modules with,
// for GET /api/v1/board at start: nothing if chip's required files are
// all there, else what is missing and where to put it.
func FirmwareWarnings(fw *rpiboot.Firmware, payload rpiboot.Payload, chip rpiboot.Chip) []string {
	files, err := fw.Files(chip, payload)
	if err != nil {
		return []string{fmt.Sprintf("rpiboot firmware for the %s: %v", chip.Module(), err)}
	}
	var missing []string
	for _, f := range files {
		if f.Required && f.Err != nil {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("flashing a %s needs rpiboot firmware missing from %s (%s); %s%s",
		chip.Module(), fw.Dir(), strings.Join(missing, ", "), FirmwareHint, spaceNote(fw.Dir()))}
}

// spaceNote says how much room the file system of dir, or of its nearest
// existing parent, has: whether the firmware would fit there.
func spaceNote(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if free, _, err := diskSpace(d); err == nil {
			return fmt.Sprintf(" (%s has %s free)", d, size(free))
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}
