package sim_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/sim"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

// newUSBSim is a 4-slot simulated board whose modules are CM4s on a
// simulated bus, slot 4 empty.
func newUSBSim(t *testing.T, topology sim.USBTopology) (*sim.Board, string) {
	t.Helper()
	dir := t.TempDir()
	// Slot 3's eMMC was made by an older bmcd, readable by everyone.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "emmc3"), []byte("old"), 0o644))
	bus := usbsim.New(nil)
	t.Cleanup(func() { bus.Close() })
	b, err := sim.New(&sim.Opts{Absent: []int{4}, USB: &sim.USB{
		Bus:      bus,
		Topology: topology,
		Module:   usbsim.CM4(),
		Disk: func(slot int) usbsim.Disk {
			return usbsim.Disk{Path: filepath.Join(dir, "emmc"+string(rune('0'+slot))), Size: 1 << 20}
		},
	}})
	require.NoError(t, err)
	return b, dir
}

// onBus lists the slots whose module is on the USB bus.
func onBus(b *sim.Board) []int {
	var slots []int
	for s := 1; s <= b.Info().Slots; s++ {
		if b.USBModule(s) != nil {
			slots = append(slots, s)
		}
	}
	return slots
}

func TestUSBBootModeAndTopology(t *testing.T) {
	toBMC := func(slot int) hal.USBConfig {
		return hal.USBConfig{Slot: slot, Role: hal.USBDevice, Route: hal.RouteBMC}
	}
	toConnector := func(slot int) hal.USBConfig {
		return hal.USBConfig{Slot: slot, Role: hal.USBDevice, Route: hal.RouteConnector}
	}
	// usbBoot powers slot up in USB boot mode.
	usbBoot := func(b *sim.Board, slot int) {
		ctx := context.Background()
		require.NoError(t, b.SetUSBBoot(ctx, slot, true))
		require.NoError(t, b.SetPower(ctx, slot, true))
	}
	ctx := context.Background()
	tests := []struct {
		name     string
		topology sim.USBTopology
		do       func(t *testing.T, b *sim.Board)
		want     []int
	}{
		{name: "strap released after power-up: the module stays in USB boot mode", do: func(t *testing.T, b *sim.Board) {
			require.NoError(t, b.SetUSB(ctx, toBMC(1)))
			usbBoot(b, 1)
			require.NoError(t, b.SetUSBBoot(ctx, 1, false))
		}, want: []int{1}},
		{name: "strap asserted after power-up: the module booted from eMMC", do: func(t *testing.T, b *sim.Board) {
			require.NoError(t, b.SetUSB(ctx, toBMC(1)))
			require.NoError(t, b.SetPower(ctx, 1, true))
			require.NoError(t, b.SetUSBBoot(ctx, 1, true))
		}},
		{name: "a reset samples the strap again", do: func(t *testing.T, b *sim.Board) {
			require.NoError(t, b.SetUSB(ctx, toBMC(1)))
			require.NoError(t, b.SetPower(ctx, 1, true))
			require.NoError(t, b.SetUSBBoot(ctx, 1, true))
			require.NoError(t, b.Reset(ctx, 1))
		}, want: []int{1}},
		{name: "power off unplugs", do: func(t *testing.T, b *sim.Board) {
			require.NoError(t, b.SetUSB(ctx, toBMC(1)))
			usbBoot(b, 1)
			require.NoError(t, b.SetPower(ctx, 1, false))
		}},
		{name: "no module in an empty slot", do: func(t *testing.T, b *sim.Board) {
			require.NoError(t, b.SetUSB(ctx, toBMC(4)))
			usbBoot(b, 4)
		}},
		{name: "mux: the slot routed last is the one on the bus", topology: sim.USBMux, do: func(t *testing.T, b *sim.Board) {
			usbBoot(b, 1)
			usbBoot(b, 2)
			require.NoError(t, b.SetUSB(ctx, toBMC(1)))
			require.NoError(t, b.SetUSB(ctx, toBMC(2)))
		}, want: []int{2}},
		{name: "mux: a slot as host is not on the controller's bus", topology: sim.USBMux, do: func(t *testing.T, b *sim.Board) {
			usbBoot(b, 1)
			require.NoError(t, b.SetUSB(ctx, hal.USBConfig{Slot: 1, Role: hal.USBHost, Route: hal.RouteBMC}))
		}},
		{name: "hub: every slot in USB boot mode is on the bus", topology: sim.USBHub, do: func(t *testing.T, b *sim.Board) {
			usbBoot(b, 1)
			usbBoot(b, 3)
			require.NoError(t, b.SetUSB(ctx, toBMC(3)))
		}, want: []int{1, 3}},
		{name: "hub: the uplink to the connector takes every slot off", topology: sim.USBHub, do: func(t *testing.T, b *sim.Board) {
			usbBoot(b, 1)
			usbBoot(b, 3)
			require.NoError(t, b.SetUSB(ctx, toBMC(3)))
			require.NoError(t, b.SetUSB(ctx, toConnector(1)))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, _ := newUSBSim(t, tt.topology)
			tt.do(t, b)
			assert.Equal(t, tt.want, onBus(b))
		})
	}
}

func TestUSBHubRefusesHostRole(t *testing.T) {
	t.Parallel()
	b, _ := newUSBSim(t, sim.USBHub)
	err := b.SetUSB(context.Background(), hal.USBConfig{Slot: 1, Role: hal.USBHost, Route: hal.RouteConnector})
	require.ErrorIs(t, err, hal.ErrNotSupported)
	assert.Empty(t, b.Transitions())
}

func TestUSBDisksAndModules(t *testing.T) {
	t.Parallel()
	b, dir := newUSBSim(t, sim.USBMux)
	for slot, want := range map[int]string{1: "CM4", 3: "CM4", 4: ""} {
		assert.Equal(t, want, b.InstalledModule(slot), "slot %d", slot)
	}
	fi, err := os.Stat(filepath.Join(dir, "emmc1"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "eMMC files are private, like bmcd's state")
	assert.Equal(t, int64(1<<20), fi.Size())
	fi, err = os.Stat(filepath.Join(dir, "emmc3"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "an older eMMC file is made private")
	assert.Equal(t, int64(3), fi.Size(), "and left as it is otherwise")
	_, err = os.Stat(filepath.Join(dir, "emmc4"))
	assert.ErrorIs(t, err, os.ErrNotExist, "an empty slot has no eMMC")

	plain, err := sim.New(nil)
	require.NoError(t, err)
	assert.Empty(t, plain.InstalledModule(1), "without modules the board cannot tell")
}

func TestParseUSBTopology(t *testing.T) {
	t.Parallel()
	for _, want := range []sim.USBTopology{sim.USBMux, sim.USBHub} {
		got, err := sim.ParseUSBTopology(want.String())
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := sim.ParseUSBTopology("switch")
	assert.Error(t, err)
}
