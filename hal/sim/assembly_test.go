package sim_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.bug.st/serial"

	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/sim"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

// TestAssembly: the assembled board has a console per slot whose node
// boots when the slot is switched on, an eMMC file per slot, the slots'
// USB ports, and a USB topology that follows the one asked for.
func TestAssembly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		topology sim.USBTopology
		parallel bool
	}{
		{name: "mux", topology: sim.USBMux, parallel: false},
		{name: "hub", topology: sim.USBHub, parallel: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			a, err := sim.Open(&sim.AssemblyOpts{
				StateDir:    dir,
				Topology:    tc.topology,
				Module:      usbsim.CM4(),
				EMMCBytes:   1 << 20,
				FirmwareDir: filepath.Join(dir, "firmware"),
			})
			require.NoError(t, err)
			closed := false
			t.Cleanup(func() {
				if !closed {
					assert.NoError(t, a.Close())
				}
			})
			assert.Equal(t, hal.USBLayout{ParallelFlash: tc.parallel}, a.Board.USBTopology())
			assert.Equal(t, map[int]string{1: "1-1.1", 2: "1-1.2", 3: "1-1.3", 4: "1-1.4"}, a.USBPorts)
			require.Len(t, a.Consoles, 4)
			for i, p := range a.Consoles {
				assert.Equal(t, i+1, p.Slot)
				assert.NotEmpty(t, p.Device)
				fi, err := os.Stat(sim.EMMCPath(dir, i+1))
				require.NoError(t, err)
				assert.EqualValues(t, 1<<20, fi.Size())
			}

			out := readConsole(t, a.Consoles[1].Device)
			require.NoError(t, a.Board.SetPower(context.Background(), 2, true))
			require.Eventually(t, func() bool { return strings.Contains(out(), "Booting Linux") },
				10*time.Second, 5*time.Millisecond, "slot 2's node boots when switched on; got %q", out())

			// The next run finds slot 2 on, and its node boots again.
			closed = true
			require.NoError(t, a.Close())
			a, err = sim.Open(&sim.AssemblyOpts{StateDir: dir, Topology: tc.topology, Module: usbsim.CM4(),
				EMMCBytes: 1 << 20, FirmwareDir: filepath.Join(dir, "firmware")})
			require.NoError(t, err)
			closed = false
			st, err := a.Board.PowerState(context.Background(), 2)
			require.NoError(t, err)
			assert.Equal(t, hal.PowerOn, st)
			out = readConsole(t, a.Consoles[1].Device)
			require.Eventually(t, func() bool { return strings.Contains(out(), "Welcome to") },
				10*time.Second, 5*time.Millisecond, "slot 2's node boots at start; got %q", out())
		})
	}
}

// readConsole reads the daemon's end of a console until the test ends
// and returns what arrived so far.
func readConsole(t *testing.T, device string) func() string {
	t.Helper()
	p, err := serial.Open(device, &serial.Mode{BaudRate: 115200})
	require.NoError(t, err)
	require.NoError(t, p.SetReadTimeout(20*time.Millisecond))
	var mu sync.Mutex
	var buf []byte
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 4096)
		for {
			n, err := p.Read(b)
			mu.Lock()
			buf = append(buf, b[:n]...)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { _ = p.Close(); <-done })
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return string(buf)
	}
}
