package bmc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

func TestFlasherImagesRefuseBadBmap(t *testing.T) {
	img, err := bmc.FlasherImages{}.Upload(strings.NewReader("x"), 1, bmc.ImageSpec{Bmap: []byte("not a bmap")})
	require.ErrorIs(t, err, bmc.ErrInvalid)
	assert.Nil(t, img)
}

// TestFlashRefusesBadSpecs: the board checks what a user says about an
// image once, for every image factory, before anything is queued; the
// message names the value once.
func TestFlashRefusesBadSpecs(t *testing.T) {
	t.Parallel()
	f := newFlashFixture(t, func(c *bmc.Config) { c.Flash.Images = bmc.FlasherImages{} })
	upload := func(spec bmc.ImageSpec) error {
		_, _, err := f.board.FlashUpload(1, strings.NewReader("x"), 1, spec, bmc.FlashOptions{})
		return err
	}
	url := func(u string, spec bmc.ImageSpec) error {
		_, err := f.board.FlashURL(1, u, spec, bmc.FlashOptions{})
		return err
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"sha256 not hex", upload(bmc.ImageSpec{SHA256: strings.Repeat("zz", 32)}), `sha256 "` + strings.Repeat("zz", 32) + `": want 64 hex digits`},
		{"sha256 too short", upload(bmc.ImageSpec{SHA256: "abcd"}), `sha256 "abcd": want 64 hex digits`},
		{"sha256 of a URL", url("http://host/a.img", bmc.ImageSpec{SHA256: "abcd"}), `sha256 "abcd": want 64 hex digits`},
		{"URL scheme", url("file:///etc/passwd", bmc.ImageSpec{}), `image URL "file:///etc/passwd": want an http or https URL`},
		{"URL without host", url("http://", bmc.ImageSpec{}), `image URL "http://": want an http or https URL`},
		{"URL garbage", url("::", bmc.ImageSpec{}), `image URL "::": want an http or https URL`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.err, bmc.ErrInvalid)
			assert.Equal(t, tc.want, tc.err.Error())
		})
	}
	assert.Empty(t, f.board.Jobs().List(), "nothing queued")
}

func TestFlasherImageWritesAndReports(t *testing.T) {
	data := bytes.Repeat([]byte("bmcd flasher image "), 50000)
	sum := sha256.Sum256(data)
	disk := filepath.Join(t.TempDir(), "emmc.img")
	require.NoError(t, os.WriteFile(disk, make([]byte, 2<<20), 0o644))

	img, err := bmc.FlasherImages{}.Upload(bytes.NewReader(data), int64(len(data)),
		bmc.ImageSpec{Name: "test.img", SHA256: hex.EncodeToString(sum[:]), Verify: true})
	require.NoError(t, err)
	assert.Equal(t, "test.img", img.String())
	var phases []string
	require.NoError(t, img.WriteTo(context.Background(), disk, func(p bmc.FlashProgress) {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
	}))
	got, err := os.ReadFile(disk)
	require.NoError(t, err)
	assert.Equal(t, data, got[:len(data)])
	assert.Contains(t, phases, "write")
	assert.Contains(t, phases, "verify")
	assert.Equal(t, "done", phases[len(phases)-1])
}

// TestRPiBooter boots a simulated CM4 through the real rpiboot host and
// finds its eMMC in the simulated sysfs, by port.
func TestRPiBooter(t *testing.T) {
	root, fw := t.TempDir(), t.TempDir()
	require.NoError(t, usbsim.WriteFirmware(fw))
	bus := usbsim.New(&usbsim.Opts{Root: root})
	t.Cleanup(func() { assert.NoError(t, bus.Close()) })
	p := usbsim.CM4()
	p.Timing = usbsim.Timing{Disconnect: 5 * time.Millisecond, SecondStage: 20 * time.Millisecond, MassStorage: 20 * time.Millisecond}
	emmc := filepath.Join(t.TempDir(), "emmc.img")
	bus.Attach("1-1.3", p, usbsim.Disk{Path: emmc, Size: 8 << 20})
	// An unrelated module elsewhere on the bus must not be taken.
	bus.Attach("1-1.1", p, usbsim.Disk{Path: filepath.Join(t.TempDir(), "other.img"), Size: 8 << 20})

	b := &bmc.RPiBooter{
		Bus:      bus,
		Ports:    map[int]string{1: "1-1.1", 3: "1-1.3"},
		Firmware: rpiboot.NewFirmware(fw),
		SysRoot:  filepath.Join(root, "sys"),
		DevRoot:  filepath.Join(root, "dev"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	disk, err := b.BootToDisk(ctx, 3)
	require.NoError(t, err)
	target, err := filepath.EvalSymlinks(disk)
	require.NoError(t, err)
	want, err := filepath.EvalSymlinks(emmc)
	require.NoError(t, err)
	assert.Equal(t, want, target, "slot 3's disk is the module on port 1-1.3")

	_, err = b.BootToDisk(ctx, 2)
	require.ErrorIs(t, err, bmc.ErrNotFlashable, "a slot without a port")
}
