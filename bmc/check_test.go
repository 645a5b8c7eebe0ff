package bmc_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/sim"
	"github.com/turingpi-oss/bmcd/hal/usb"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

// romBooter shows a CM4 boot ROM while the slot is powered with its
// strap asserted and its USB routed to the controller, as a module does.
type romBooter struct {
	fakeBooter
	never bool // the module never enumerates
}

func (r *romBooter) WaitForROM(ctx context.Context, slot int) (usb.DeviceInfo, error) {
	if !r.never {
		if p, _ := r.hw.PowerState(ctx, slot); p == hal.PowerOn && r.hw.USBBoot(slot) {
			return usb.DeviceInfo{Port: fmt.Sprintf("1-1.%d", slot), VendorID: 0x0a5c, ProductID: 0x2711, SerialIndex: 3}, nil
		}
	}
	<-ctx.Done()
	return usb.DeviceInfo{}, ctx.Err()
}

func byName(fs []hal.Finding) map[string]hal.Finding {
	m := map[string]hal.Finding{}
	for _, f := range fs {
		m[f.Name] = f
	}
	return m
}

func newChecker(t *testing.T, absent []int, never bool) (*bmc.Checker, *sim.Board) {
	t.Helper()
	dir := t.TempDir()
	hw, err := sim.New(&sim.Opts{Slots: 4, Absent: absent})
	require.NoError(t, err)
	booter := &romBooter{fakeBooter: fakeBooter{t: t, hw: hw, dir: dir}, never: never}
	board := newBoard(t, hw, dir, func(c *bmc.Config) { c.Flash = bmc.FlashConfig{Booter: booter} })
	fw := filepath.Join(dir, "fw")
	require.NoError(t, usbsim.WriteFirmware(fw))
	return &bmc.Checker{
		Probe:         hw,
		Firmware:      rpiboot.NewFirmware(fw),
		FirmwareChips: []rpiboot.Chip{rpiboot.BCM2711, rpiboot.BCM2712},
		StateDir:      dir,
		Board:         board,
		ROMTimeout:    50 * time.Millisecond, // only the module that never enumerates waits it out
	}, hw
}

func TestCheckReadOnly(t *testing.T) {
	t.Parallel()
	c, hw := newChecker(t, nil, false)
	require.NoError(t, hw.SetPower(context.Background(), 3, true))
	before := hw.Transitions()
	got, err := c.Run(context.Background(), 0)
	require.NoError(t, err)
	assert.Equal(t, before, hw.Transitions(), "a check without a slot switched something")
	assert.False(t, hal.Failed(got), "%v", got)
	m := byName(got)
	assert.Contains(t, m["slot 3"].Detail, "power on")
	assert.Equal(t, hal.CheckOK, m["rpiboot firmware for the CM4"].Status)
	assert.Contains(t, m["rpiboot firmware for the CM4"].Detail, "boot.img 262144 B")
	assert.Equal(t, hal.CheckOK, m["state dir "+c.StateDir].Status)
}

func TestCheckFirmwareMissing(t *testing.T) {
	t.Parallel()
	c, _ := newChecker(t, nil, false)
	c.Firmware = rpiboot.NewFirmware(t.TempDir())
	got, err := c.Run(context.Background(), 0)
	require.NoError(t, err)
	m := byName(got)
	assert.Equal(t, hal.CheckFail, m["rpiboot firmware for the CM4"].Status)
	assert.Contains(t, m["rpiboot firmware for the CM4"].Detail, "/mnt/sdcard/rpiboot")
	assert.Equal(t, hal.CheckWarn, m["rpiboot firmware for the CM5"].Status, "only the first chip is required")
	assert.True(t, hal.Failed(got))

	ws := bmc.FirmwareWarnings(c.Firmware, rpiboot.PayloadAuto, rpiboot.BCM2711)
	require.Len(t, ws, 1)
	assert.Contains(t, ws[0], "boot.img")
	assert.Contains(t, ws[0], "flash.firmware_dir")
	assert.Empty(t, bmc.FirmwareWarnings(rpiboot.NewFirmware(filepath.Join(c.StateDir, "fw")), rpiboot.PayloadAuto, rpiboot.BCM2711))
}

func TestCheckActive(t *testing.T) {
	t.Parallel()
	c, hw := newChecker(t, nil, false)
	got, err := c.Run(context.Background(), 2)
	require.NoError(t, err)
	assert.False(t, hal.Failed(got), "%v", got)
	m := byName(got)
	assert.Equal(t, hal.CheckOK, m["slot 2 power on/off"].Status, m["slot 2 power on/off"].Detail)
	assert.Contains(t, m["slot 2 usb boot"].Detail, "CM4 boot ROM enumerated")
	assert.Equal(t, []string{
		"slot2 power=on", "slot2 power=off",
		"slot2 usb=device/bmc", "slot2 usb-boot=asserted", "slot2 power=on",
		"slot2 power=off", "slot2 usb-boot=released", "slot2 usb=device/connector",
	}, transitions(hw), "power on/off, boot to the ROM, then put back")
}

func TestCheckActiveRefusesARunningSlot(t *testing.T) {
	t.Parallel()
	c, hw := newChecker(t, nil, false)
	require.NoError(t, hw.SetPower(context.Background(), 1, true))
	before := hw.Transitions()
	got, err := c.Run(context.Background(), 1)
	require.NoError(t, err)
	assert.Equal(t, before, hw.Transitions(), "a running node was switched")
	f := byName(got)["slot 1 active check"]
	assert.Equal(t, hal.CheckFail, f.Status)
	assert.Contains(t, f.Detail, "switch it off first")

	_, err = c.Run(context.Background(), 9)
	assert.ErrorIs(t, err, hal.ErrNoSlot)
	assert.Equal(t, before, hw.Transitions())
}

func TestCheckActiveNoROM(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		absent []int
		power  hal.CheckStatus
		usb    hal.CheckStatus
	}{
		// The simulated board senses presence: a module that does not
		// enumerate fails.
		{"module present", nil, hal.CheckOK, hal.CheckFail},
		{"empty slot", []int{2}, hal.CheckWarn, hal.CheckSkip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, hw := newChecker(t, tc.absent, true)
			got, err := c.Run(context.Background(), 2)
			require.NoError(t, err)
			m := byName(got)
			assert.Equal(t, tc.power, m["slot 2 power on/off"].Status, m["slot 2 power on/off"].Detail)
			assert.Equal(t, tc.usb, m["slot 2 usb boot"].Status, m["slot 2 usb boot"].Detail)
			assert.False(t, hw.USBBoot(2), "strap released")
			p, _ := hw.PowerState(context.Background(), 2)
			assert.Equal(t, hal.PowerOff, p)
		})
	}
}

// The real rpiboot host on a simulated bus: WaitForROM finds the slot's
// boot ROM by port, and a flash without firmware says where to put it.
func TestRPiBooterROMAndMissingFirmware(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	bus := usbsim.New(&usbsim.Opts{Root: root})
	t.Cleanup(func() { assert.NoError(t, bus.Close()) })
	bus.Attach("1-1.3", usbsim.CM4(), usbsim.Disk{Path: filepath.Join(t.TempDir(), "emmc.img"), Size: 8 << 20})
	b := &bmc.RPiBooter{
		Bus:      bus,
		Ports:    map[int]string{1: "1-1.1", 3: "1-1.3"},
		Firmware: rpiboot.NewFirmware(t.TempDir()), // empty
		SysRoot:  filepath.Join(root, "sys"),
		DevRoot:  filepath.Join(root, "dev"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := b.WaitForROM(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, "1-1.3", d.Port)
	st, chip := rpiboot.Identify(d)
	assert.Equal(t, rpiboot.StageROM, st)
	assert.Equal(t, rpiboot.BCM2711, chip)

	_, err = b.BootToDisk(ctx, 3)
	require.ErrorIs(t, err, rpiboot.ErrNotFound)
	assert.Contains(t, err.Error(), bmc.FirmwareHint)

	short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	_, err = b.WaitForROM(short, 1) // nothing on port 1-1.1
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// An active check never switches the shared USB route under a flash.
func TestCheckActiveWaitsForFlashes(t *testing.T) {
	t.Parallel()
	c, hw := newChecker(t, nil, false)
	img := &fakeImage{release: make(chan struct{}), block: make(chan struct{})}
	job, err := c.Board.Flash(1, img, bmc.FlashOptions{})
	require.NoError(t, err)
	<-img.block // the flash is writing
	before := hw.Transitions()
	got, err := c.Run(context.Background(), 2)
	require.NoError(t, err)
	assert.Contains(t, byName(got)["slot 2 active check"].Detail, "flash job(s) queued or running")
	assert.Equal(t, before, hw.Transitions())
	close(img.release)
	assert.Equal(t, bmc.JobSucceeded, waitJob(t, c.Board, job.ID).State)
}

func TestAddWarnings(t *testing.T) {
	t.Parallel()
	c, _ := newChecker(t, nil, false)
	c.Board.AddWarnings("rpiboot firmware missing")
	assert.Contains(t, c.Board.Warnings(), "rpiboot firmware missing")
}
