package rpiboot

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFirmwareOpen(t *testing.T) {
	fix := makeFirmware(t, fixtureOpts{})
	overlay := []byte("my own bootmain")
	require.NoError(t, os.MkdirAll(filepath.Join(fix.dir, "mass-storage-gadget64", "2711"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(fix.dir, "mass-storage-gadget64", "2711", "bootmain"), overlay, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(fix.dir, "mass-storage-gadget64", "overlays"), 0o755))
	fw := NewFirmware(fix.dir)

	tests := []struct {
		name       string
		chip       Chip
		payload    Payload
		file       string
		wantSource string
		want       []byte
		wantErr    error
	}{
		{name: "archive entry", chip: BCM2711, file: "mcb.bin",
			wantSource: "mass-storage-gadget64/bootfiles.bin:2711/mcb.bin", want: fix.files["2711/mcb.bin"]},
		{name: "archive entry, any case", chip: BCM2711, file: "MCB.BIN",
			wantSource: "mass-storage-gadget64/bootfiles.bin:2711/MCB.BIN", want: fix.files["2711/mcb.bin"]},
		{name: "archive entry of the chip", chip: BCM2712, file: "bootcode5.bin",
			wantSource: "mass-storage-gadget64/bootfiles.bin:2712/bootcode5.bin", want: fix.files["2712/bootcode5.bin"]},
		{name: "soc directory before the archive", chip: BCM2711, payload: PayloadMassStorageGadget, file: "bootmain",
			wantSource: "mass-storage-gadget64/2711/bootmain", want: overlay},
		{name: "payload directory", chip: BCM2712, file: "boot.img",
			wantSource: "mass-storage-gadget64/boot.img", want: fix.files["msg/boot.img"]},
		{name: "legacy bootcode", chip: BCM2837, file: "bootcode.bin",
			wantSource: "msd/bootcode.bin", want: fix.files["msd/bootcode.bin"]},
		{name: "legacy bootcode4", chip: BCM2711, payload: PayloadLegacyMSD, file: "bootcode4.bin",
			wantSource: "msd/bootcode4.bin", want: fix.files["msd/bootcode4.bin"]},
		{name: "start4.elf is msd's start.elf", chip: BCM2711, payload: PayloadLegacyMSD, file: "start4.elf",
			wantSource: "msd/start.elf", want: fix.files["msd/start.elf"]},
		{name: "CM3 gadget falls back to msd's bootcode", chip: BCM2837, payload: PayloadMassStorageGadget, file: "bootcode.bin",
			wantSource: "msd/bootcode.bin", want: fix.files["msd/bootcode.bin"]},
		{name: "no fallback on a CM5", chip: BCM2712, file: "start.elf", wantErr: ErrNotFound},
		{name: "missing", chip: BCM2711, file: "pieeprom.sig", wantErr: ErrNotFound},
		{name: "a directory is not a file", chip: BCM2711, file: "overlays", wantErr: ErrNotFound},
		{name: "parent directory", chip: BCM2711, file: "../msd/start.elf", wantErr: ErrUnsafeName},
		{name: "dots inside a name", chip: BCM2711, file: "a..b", wantErr: ErrUnsafeName},
		{name: "absolute", chip: BCM2711, file: "/etc/passwd", wantErr: ErrUnsafeName},
		{name: "backslash", chip: BCM2711, file: `msd\start.elf`, wantErr: ErrUnsafeName},
		{name: "empty", chip: BCM2711, file: "", wantErr: ErrUnsafeName},
		{name: "dot", chip: BCM2711, file: ".", wantErr: ErrUnsafeName},
		{name: "legacy on a CM5", chip: BCM2712, payload: PayloadLegacyMSD, file: "bootcode5.bin", wantErr: ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := fw.Open(tt.chip, tt.payload, tt.file)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, f)
				return
			}
			require.NoError(t, err)
			defer f.Close()
			assert.Equal(t, tt.wantSource, f.Source)
			assert.Equal(t, int64(len(tt.want)), f.Size())
			got, err := io.ReadAll(f)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFirmwareBadArchive(t *testing.T) {
	fix := makeFirmware(t, fixtureOpts{without: []string{"firmware/bootfiles.bin"}})
	require.NoError(t, os.MkdirAll(filepath.Join(fix.dir, "firmware"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(fix.dir, "firmware", "bootfiles.bin"), []byte("not a tar archive"), 0o644))
	_, err := NewFirmware(fix.dir).Open(BCM2711, PayloadAuto, "bootmain")
	assert.ErrorIs(t, err, ErrBadArchive)
}

func TestFirmwareNotFoundMessage(t *testing.T) {
	_, err := NewFirmware("/nonexistent").Open(BCM2711, PayloadAuto, "bootcode4.bin")
	require.ErrorIs(t, err, ErrNotFound)
	assert.EqualError(t, err, "bootcode4.bin for CM4, mass-storage-gadget64: not in "+
		"mass-storage-gadget64/2711/bootcode4.bin, mass-storage-gadget64/bootfiles.bin:2711/bootcode4.bin, "+
		"mass-storage-gadget64/bootcode4.bin, msd/bootcode4.bin (firmware directory /nonexistent): firmware file not found")
}

func TestFindInArchive(t *testing.T) {
	archive := seedArchive(t)
	truncated := archive[:len(archive)-1024-512] // cut into the last entry's data
	tests := []struct {
		name    string
		archive []byte
		entry   string
		want    []byte
		wantErr error
	}{
		{name: "exact", archive: archive, entry: "2711/bootcode4.bin", want: fakeBytes("seed/bootcode4.bin", 1500)},
		{name: "any case and ./", archive: archive, entry: "2711/bootmain", want: fakeBytes("seed/bootmain", 700)},
		{name: "empty entry", archive: archive, entry: "2711/MCB.bin", want: []byte{}},
		{name: "after a directory", archive: archive, entry: "2712/memsys00.bin", want: fakeBytes("seed/memsys00", 513)},
		{name: "symlinks are not files", archive: archive, entry: "2712/bootmain", wantErr: ErrNotFound},
		{name: "directories are not files", archive: archive, entry: "2712", wantErr: ErrNotFound},
		{name: "no such entry", archive: archive, entry: "2711/memsys00.bin", wantErr: ErrNotFound},
		{name: "empty archive", archive: nil, entry: "2711/bootmain", wantErr: ErrNotFound},
		{name: "truncated", archive: truncated, entry: "2712/memsys00.bin", wantErr: ErrBadArchive},
		{name: "garbage", archive: bytes.Repeat([]byte{0x5a}, 1024), entry: "x", wantErr: ErrBadArchive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off, n, err := findInArchive(bytes.NewReader(tt.archive), int64(len(tt.archive)), tt.entry)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, tt.archive[off:off+n])
		})
	}
}

func TestPayloadForChip(t *testing.T) {
	tests := []struct {
		name    string
		payload Payload
		chip    Chip
		want    Payload
		wantErr error
	}{
		{"CM3 default", PayloadAuto, BCM2837, PayloadLegacyMSD, nil},
		{"CM1 default", PayloadAuto, BCM2835, PayloadLegacyMSD, nil},
		{"CM4 default", PayloadAuto, BCM2711, PayloadMassStorageGadget, nil},
		{"CM5 default", PayloadAuto, BCM2712, PayloadMassStorageGadget, nil},
		{"CM4 legacy", PayloadLegacyMSD, BCM2711, PayloadLegacyMSD, nil},
		{"CM3 gadget", PayloadMassStorageGadget, BCM2837, PayloadMassStorageGadget, nil},
		{"CM5 legacy", PayloadLegacyMSD, BCM2712, PayloadLegacyMSD, ErrUnsupported},
		{"unknown payload", Payload(7), BCM2711, Payload(7), ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.payload.forChip(tt.chip)
			assert.Equal(t, tt.want, got)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func FuzzBootfilesTar(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "bootfiles.tar"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"2711/bootcode4.bin", "2711/BOOTMAIN", "2712/memsys00.bin", "2712/bootmain", "nothing"} {
		f.Add(seed, name)
	}
	f.Add([]byte{}, "2711/bootmain")
	f.Fuzz(func(t *testing.T, archive []byte, name string) {
		off, n, err := findInArchive(bytes.NewReader(archive), int64(len(archive)), name)
		if err != nil {
			if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrBadArchive) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if off < 0 || n < 0 || off+n > int64(len(archive)) {
			t.Fatalf("entry %s at %d+%d outside an archive of %d bytes", name, off, n, len(archive))
		}
		// archive/tar, read in order, must agree on the entry's bytes.
		tr := tar.NewReader(bytes.NewReader(archive))
		for {
			hdr, err := tr.Next()
			if err != nil {
				t.Fatalf("archive/tar lost entry %s: %v", name, err)
			}
			if hdr.Typeflag != tar.TypeReg || !strings.EqualFold(strings.TrimPrefix(hdr.Name, "./"), name) {
				continue
			}
			b, err := io.ReadAll(tr)
			if err == nil && !bytes.Equal(b, archive[off:off+n]) {
				t.Fatalf("entry %s: lookup and archive/tar disagree", name)
			}
			return
		}
	})
}
