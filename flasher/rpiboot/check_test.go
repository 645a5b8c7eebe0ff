package rpiboot_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

func TestFirmwareFiles(t *testing.T) {
	t.Parallel()
	full := t.TempDir()
	require.NoError(t, usbsim.WriteFirmware(full))
	noBootImg := t.TempDir()
	require.NoError(t, usbsim.WriteFirmware(noBootImg))
	require.NoError(t, os.Remove(filepath.Join(noBootImg, "mass-storage-gadget64", "boot.img")))

	for _, tc := range []struct {
		name        string
		dir         string
		chip        rpiboot.Chip
		payload     rpiboot.Payload
		files       int
		missing     []string
		wantSources map[string]string
	}{
		{name: "CM4 gadget", dir: full, chip: rpiboot.BCM2711, payload: rpiboot.PayloadAuto, files: 14,
			wantSources: map[string]string{
				"bootcode4.bin": "mass-storage-gadget64/bootfiles.bin:2711/bootcode4.bin",
				"boot.img":      "mass-storage-gadget64/boot.img",
			}},
		{name: "CM5 gadget", dir: full, chip: rpiboot.BCM2712, payload: rpiboot.PayloadAuto, files: 9},
		{name: "CM3 msd", dir: full, chip: rpiboot.BCM2837, payload: rpiboot.PayloadAuto, files: 2,
			wantSources: map[string]string{"start.elf": "msd/start.elf"}},
		{name: "CM4 without boot.img", dir: noBootImg, chip: rpiboot.BCM2711, payload: rpiboot.PayloadAuto, files: 14, missing: []string{"boot.img"}},
		{name: "empty directory", dir: t.TempDir(), chip: rpiboot.BCM2711, payload: rpiboot.PayloadMassStorageGadget, files: 14,
			missing: []string{"bootcode4.bin", "bootmain", "config.txt", "boot.img"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			files, err := rpiboot.NewFirmware(tc.dir).Files(tc.chip, tc.payload)
			require.NoError(t, err)
			assert.Len(t, files, tc.files)
			var missing []string
			for _, f := range files {
				if f.Err != nil && f.Required {
					missing = append(missing, f.Name)
					assert.ErrorIs(t, f.Err, rpiboot.ErrNotFound)
				}
				if f.Err == nil {
					assert.Positive(t, f.Size, f.Name)
				}
				if want, ok := tc.wantSources[f.Name]; ok {
					assert.Equal(t, want, f.Source)
				}
			}
			assert.Equal(t, tc.missing, missing)
			assert.Equal(t, len(tc.missing) > 0, rpiboot.Missing(files) != nil)
		})
	}
	_, err := rpiboot.NewFirmware(full).Files(rpiboot.BCM2712, rpiboot.PayloadLegacyMSD)
	assert.True(t, errors.Is(err, rpiboot.ErrUnsupported))
}
