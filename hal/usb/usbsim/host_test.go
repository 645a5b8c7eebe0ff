package usbsim_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal/usb"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

// A minimal host written from the protocol facts, independent of
// flasher/rpiboot, to drive the simulator step by step.

const port = "1-1.2"

// env is a bus on a fake clock that only the test advances.
type env struct {
	t     *testing.T
	clock *clockwork.FakeClock
	bus   *usbsim.Bus
	root  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, clock: clockwork.NewFakeClockAt(time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)), root: t.TempDir()}
	e.bus = usbsim.New(&usbsim.Opts{Clock: e.clock, Root: e.root})
	t.Cleanup(func() { require.NoError(t, e.bus.Close()) })
	return e
}

// drive runs the clock by itself until the test ends.
func (e *env) drive() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		usbsim.DriveClock(ctx, e.clock, 10*time.Millisecond)
	}()
	e.t.Cleanup(func() { cancel(); <-done })
}

func (e *env) attach(p usbsim.Profile) (*usbsim.Module, string) {
	disk := filepath.Join(e.t.TempDir(), "emmc.img")
	return e.bus.Attach(port, p, usbsim.Disk{Path: disk, Size: 8 << 20}), disk
}

// find lists the device on port.
func (e *env) find() (usb.DeviceInfo, bool) {
	devs, err := e.bus.Devices(context.Background())
	require.NoError(e.t, err)
	for _, d := range devs {
		if d.Port == port {
			return d, true
		}
	}
	return usb.DeviceInfo{}, false
}

// host is an open device.
type host struct {
	t   *testing.T
	dev usb.Device
	ep  uint8
}

// open opens the device on port and claims its vendor interface.
func (e *env) open() (host, usb.DeviceInfo) {
	e.t.Helper()
	d, ok := e.find()
	require.True(e.t, ok, "a device on %s", port)
	dev, err := e.bus.Open(context.Background(), d)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { dev.Close() })
	h := host{t: e.t, dev: dev, ep: 0x01}
	if d.NumInterfaces == 2 {
		h.ep = 0x03
		require.NoError(e.t, dev.Claim(1))
	} else {
		require.NoError(e.t, dev.Claim(0))
	}
	return h, d
}

func (h host) announce(n int) error {
	_, err := h.dev.Control(0x40, 0, uint16(n), uint16(n>>16), nil, time.Second)
	return err
}

func (h host) read(n int, timeout time.Duration) ([]byte, error) {
	b := make([]byte, n)
	got, err := h.dev.Control(0xc0, 0, uint16(n), uint16(n>>16), b, timeout)
	return b[:got], err
}

func (h host) bulk(b []byte) (int, error) {
	return h.dev.BulkOut(h.ep, b, 5*time.Second)
}

// send announces b and sends it in chunks of the given sizes (the rest
// in one).
func (h host) send(b []byte, chunks ...int) {
	h.t.Helper()
	require.NoError(h.t, h.announce(len(b)))
	if len(b) == 0 {
		return
	}
	for _, c := range append(chunks, len(b)) {
		c = min(c, len(b))
		n, err := h.bulk(b[:c])
		require.NoError(h.t, err)
		require.Equal(h.t, c, n)
		b = b[c:]
		if len(b) == 0 {
			return
		}
	}
}

func bootMessage(n int) []byte {
	return binary.LittleEndian.AppendUint32(nil, uint32(n))[:4:4]
}

// uploadROM sends image to the boot ROM and reads the return code.
func (h host) uploadROM(image []byte) int32 {
	h.t.Helper()
	h.send(append(bootMessage(len(image)), make([]byte, 20)...), 10)
	h.send(image, 16384, 16384)
	rc, err := h.read(4, 20*time.Second)
	require.NoError(h.t, err)
	return int32(binary.LittleEndian.Uint32(rc))
}

// request is a decoded second-stage request.
type request struct {
	cmd  int32
	name string
}

func (r request) String() string {
	return fmt.Sprintf("%s %s", [...]string{"GetFileSize", "ReadFile", "Done"}[r.cmd], r.name)
}

func (h host) request() request {
	h.t.Helper()
	b, err := h.read(260, 20*time.Second)
	require.NoError(h.t, err)
	require.Len(h.t, b, 260)
	name := b[4:]
	return request{cmd: int32(binary.LittleEndian.Uint32(b)), name: string(name[:bytes.IndexByte(name, 0)])}
}

// serve answers requests from files until Done or an empty name and
// returns them.
func (h host) serve(files map[string][]byte) []string {
	h.t.Helper()
	var seen []string
	for {
		r := h.request()
		seen = append(seen, r.String())
		switch {
		case r.name == "" || r.name[0] == '*':
			require.NoError(h.t, h.announce(0))
			if r.name == "" {
				return seen
			}
		case r.cmd == 2:
			return seen
		case r.cmd == 0:
			require.NoError(h.t, h.announce(len(files[r.name])))
		case r.cmd == 1:
			h.send(files[r.name], 16384)
		}
	}
}
