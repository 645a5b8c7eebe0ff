package main

import (
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/sim"
)

// layoutBoard is a board whose profile reports a USB topology.
type layoutBoard struct {
	*sim.Board
	layout hal.USBLayout
}

func (b layoutBoard) USBTopology() hal.USBLayout { return b.layout }

var _ hal.USBTopology = layoutBoard{}

// TestParallelFlashFromProfile: slots flash at once where the board
// profile's USB topology gives each its own port and the ports are
// configured, whatever the profile is called.
func TestParallelFlashFromProfile(t *testing.T) {
	t.Parallel()
	simBoard, err := sim.New(nil)
	require.NoError(t, err)
	ports := map[int]string{1: "1-1.1", 2: "1-1.2"}
	for _, tc := range []struct {
		name  string
		board hal.Board
		ports map[int]string
		want  bool
	}{
		{name: "own ports, configured", board: layoutBoard{simBoard, hal.USBLayout{ParallelFlash: true}}, ports: ports, want: true},
		{name: "own ports, not configured", board: layoutBoard{simBoard, hal.USBLayout{ParallelFlash: true}}},
		{name: "one port at a time", board: layoutBoard{simBoard, hal.USBLayout{}}, ports: ports},
		{name: "no topology", board: simBoard, ports: ports},
		{name: "not open", ports: ports},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseConfig([]string{"--board", "tp2-v2.4", "--state-dir", t.TempDir()}, io.Discard)
			require.NoError(t, err)
			cfg.Flash.USBPorts = tc.ports
			assert.Equal(t, tc.want, hardwareFlash(cfg, tc.board, slog.New(slog.DiscardHandler)).Parallel)
		})
	}
}

// TestCheckLooksForTheProfilesHub: the check looks for the v2.5's hub,
// even when the board's lines could not be opened.
func TestCheckLooksForTheProfilesHub(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		board string
		want  *[2]uint16
	}{
		{board: "tp2-v2.5", want: &[2]uint16{0x05e3, 0x0608}},
		{board: "tp2-v2.4"},
		{board: "tp1"},
		{board: "sim"},
	} {
		t.Run(tc.board, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseConfig([]string{"--board", tc.board, "--state-dir", t.TempDir()}, io.Discard)
			require.NoError(t, err)
			assert.Equal(t, tc.want, usbLayout(cfg, nil).Hub)
		})
	}
}
