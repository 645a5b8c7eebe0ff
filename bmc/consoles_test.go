package bmc_test

import (
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/bmc/console"
	"github.com/turingpi-oss/bmcd/hal"
)

// idlePort is a console.Port that has no output until it is closed.
type idlePort struct {
	closed chan struct{}
	once   sync.Once
}

func (p *idlePort) Read([]byte) (int, error)    { <-p.closed; return 0, io.EOF }
func (p *idlePort) Write(b []byte) (int, error) { return len(b), nil }
func (p *idlePort) Close() error                { p.once.Do(func() { close(p.closed) }); return nil }
func (p *idlePort) SetMode(console.Mode) error  { return nil }

var _ console.Port = (*idlePort)(nil)

// TestBoardConsole: the board hands out the consoles of the slots whose
// UART reaches it, with the config's overrides, and tells a slot it does
// not have (ErrNoSlot) from one without a console (ErrNotSupported).
func TestBoardConsole(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	opened := map[string]console.Mode{}
	cs, err := bmc.OpenConsoles(bmc.ConsoleConfig{
		Wiring: []hal.ConsolePort{
			{Slot: 1, Device: "/dev/ttyS1", Baud: 115200},
			{Slot: 2, Device: "/dev/ttyS2", Baud: 115200},
		},
		Overrides: map[int]bmc.ConsoleOverride{
			2: {Device: "/dev/ttyUSB0", Mode: console.Mode{Baud: 1500000}},
			3: {Device: "/dev/ttyUSB1"},
		},
		Open: func(device string, mode console.Mode) (console.Port, error) {
			mu.Lock()
			defer mu.Unlock()
			opened[device] = mode
			return &idlePort{closed: make(chan struct{})}, nil
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, cs.Close()) })
	dir := t.TempDir()
	b := newBoard(t, newSim(t, dir, 4), dir, func(c *bmc.Config) { c.Consoles = cs })

	for _, tc := range []struct {
		name   string
		slot   int
		device string
		baud   int
		err    error
	}{
		{name: "wired", slot: 1, device: "/dev/ttyS1", baud: 115200},
		{name: "overridden", slot: 2, device: "/dev/ttyUSB0", baud: 1500000},
		{name: "added by the config", slot: 3, device: "/dev/ttyUSB1", baud: console.DefaultBaud},
		{name: "no console", slot: 4, err: bmc.ErrNotSupported},
		{name: "slot 0", slot: 0, err: bmc.ErrNoSlot},
		{name: "beyond the board", slot: 5, err: bmc.ErrNoSlot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := b.Console(tc.slot)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				assert.Nil(t, c)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.slot, c.Slot())
			assert.Equal(t, tc.device, c.Device())
			assert.Equal(t, tc.baud, c.Mode().Baud)
		})
	}
}

// TestBoardWithoutConsoles: a board given no consoles has none, and says
// so per slot.
func TestBoardWithoutConsoles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := newBoard(t, newSim(t, dir, 4), dir)
	_, err := b.Console(1)
	require.ErrorIs(t, err, bmc.ErrNotSupported)
	assert.Contains(t, err.Error(), "slot 1")
}
