package bmc_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

// rpiBooterRig is a simulated bus on a fake clock that runs by itself,
// with an RPiBooter whose slot 3 is port 1-1.3.
type rpiBooterRig struct {
	bus    *usbsim.Bus
	booter *bmc.RPiBooter
}

func newRPiBooterRig(t *testing.T) *rpiBooterRig {
	t.Helper()
	root, fw := t.TempDir(), t.TempDir()
	require.NoError(t, usbsim.WriteFirmware(fw))
	clock := clockwork.NewFakeClock()
	bus := usbsim.New(&usbsim.Opts{Root: root, Clock: clock})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		usbsim.DriveClock(ctx, clock, 10*time.Millisecond)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		assert.NoError(t, bus.Close())
	})
	return &rpiBooterRig{bus: bus, booter: &bmc.RPiBooter{
		Bus:      bus,
		Ports:    map[int]string{3: "1-1.3"},
		Firmware: rpiboot.NewFirmware(fw),
		SysRoot:  filepath.Join(root, "sys"),
		DevRoot:  filepath.Join(root, "dev"),
		Clock:    clock,
	}}
}

// TestRPiBooterSessionEnds boots simulated CM4s whose second stage ends
// its session each way a real one may, and finds the disk each time.
func TestRPiBooterSessionEnds(t *testing.T) {
	t.Parallel()
	for _, end := range []usbsim.SessionEnd{usbsim.EndDone, usbsim.EndDisconnect, usbsim.EndIOError} {
		t.Run(end.String(), func(t *testing.T) {
			t.Parallel()
			r := newRPiBooterRig(t)
			p := usbsim.CM4()
			p.Quirks.SessionEnd = end
			emmc := filepath.Join(t.TempDir(), "emmc.img")
			m := r.bus.Attach("1-1.3", p, usbsim.Disk{Path: emmc, Size: 8 << 20})

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			disk, err := r.booter.BootToDisk(ctx, 3)
			require.NoError(t, err)
			target, err := filepath.EvalSymlinks(disk)
			require.NoError(t, err)
			want, err := filepath.EvalSymlinks(emmc)
			require.NoError(t, err)
			assert.Equal(t, want, target)
			assert.Equal(t, usbsim.StateMassStorage, m.State())
		})
	}
}

// TestRPiBooterErrorSaysEachThingOnce checks the whole message of a
// failed USB boot as a flash job shows it.
func TestRPiBooterErrorSaysEachThingOnce(t *testing.T) {
	t.Parallel()
	r := newRPiBooterRig(t)
	p := usbsim.CM4()
	p.Quirks.NeverReenumerate = true
	r.bus.Attach("1-1.3", p, usbsim.Disk{Path: filepath.Join(t.TempDir(), "emmc.img"), Size: 8 << 20})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := r.booter.BootToDisk(ctx, 3)
	require.ErrorIs(t, err, rpiboot.ErrDeadline)
	assert.EqualError(t, err, "slot 3: rpiboot: port 1-1.3 (CM4 boot ROM 0a5c:2711): wait for second stage: nothing after 10s: deadline exceeded")
}

// TestRPiBooterDeviceErrorNamesThePortOnce: a transfer that fails mid-boot
// is reported by rpiboot, which names the port and the device; the USB
// layer below names only its operation.
func TestRPiBooterDeviceErrorNamesThePortOnce(t *testing.T) {
	t.Parallel()
	r := newRPiBooterRig(t)
	m := r.bus.Attach("1-1.3", usbsim.CM4(), usbsim.Disk{Path: filepath.Join(t.TempDir(), "emmc.img"), Size: 8 << 20})
	m.Inject(usbsim.Fault{Kind: usbsim.FaultVanish, Stage: usbsim.StateROM, Op: usbsim.OpBulkOut})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := r.booter.BootToDisk(ctx, 3)
	require.Error(t, err)
	assert.EqualError(t, err, "slot 3: rpiboot: port 1-1.3 (CM4 boot ROM 0a5c:2711): send boot message: bulk chunk 1/1: usbsim: bulk-out: usb: no such device (it disconnected)")
}
