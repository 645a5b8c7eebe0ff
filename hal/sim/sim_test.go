package sim_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/sim"
)

func TestTransitionsAreRecorded(t *testing.T) {
	ctx := context.Background()
	b, err := sim.New(&sim.Opts{Slots: 7})
	require.NoError(t, err)
	require.NoError(t, b.SetPower(ctx, 5, true))
	require.NoError(t, b.SetPower(ctx, 5, true)) // no change, no transition
	require.NoError(t, b.SetUSBBoot(ctx, 5, true))
	require.NoError(t, b.SetUSB(ctx, hal.USBConfig{Slot: 5, Role: hal.USBDevice, Route: hal.RouteBMC}))
	require.NoError(t, b.Reset(ctx, 5))
	require.NoError(t, b.SetUSBBoot(ctx, 5, false))
	require.NoError(t, b.SetPower(ctx, 5, false))

	var got []string
	for _, tr := range b.Transitions() {
		got = append(got, tr.String())
	}
	assert.Equal(t, []string{
		"slot5 power=on",
		"slot5 usb-boot=asserted",
		"slot5 usb=device/bmc",
		"slot5 reset=asserted",
		"slot5 reset=released",
		"slot5 usb-boot=released",
		"slot5 power=off",
	}, got)
}

func TestSlotsAndAbsence(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		opts    sim.Opts
		wantErr bool
	}{
		{name: "default is 4 slots", opts: sim.Opts{}},
		{name: "7 slots", opts: sim.Opts{Slots: 7}},
		{name: "5 slots", opts: sim.Opts{Slots: 5}, wantErr: true},
		{name: "absent slot out of range", opts: sim.Opts{Absent: []int{9}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sim.New(&tt.opts)
			if tt.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
		})
	}

	b, err := sim.New(&sim.Opts{Absent: []int{2}})
	require.NoError(t, err)
	require.NoError(t, b.SetPower(ctx, 2, true))
	p, err := b.PowerState(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, hal.PowerOff, p, "an empty slot draws no power")
	present, err := b.Present(ctx, 2)
	require.NoError(t, err)
	assert.False(t, present)
	for _, slot := range []int{0, 5} {
		assert.ErrorIs(t, b.SetPower(ctx, slot, true), hal.ErrNoSlot)
		_, err := b.PowerState(ctx, slot)
		assert.ErrorIs(t, err, hal.ErrNoSlot)
	}
}

func TestInjectFault(t *testing.T) {
	ctx := context.Background()
	b, err := sim.New(nil)
	require.NoError(t, err)
	boom := errors.New("boom")
	b.InjectFault(1, boom)
	assert.ErrorIs(t, b.SetPower(ctx, 1, true), boom)
	assert.Empty(t, b.Transitions(), "a failed operation changes nothing")
	require.NoError(t, b.SetPower(ctx, 1, true), "a fault fires once")
}

func TestStateOutlivesTheProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hw.json")
	b, err := sim.New(&sim.Opts{StatePath: path})
	require.NoError(t, err)
	require.NoError(t, b.SetPower(ctx, 3, true))
	require.NoError(t, b.SetUSBBoot(ctx, 4, true))
	require.NoError(t, b.Close())

	again, err := sim.New(&sim.Opts{StatePath: path})
	require.NoError(t, err)
	p, err := again.PowerState(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, hal.PowerOn, p)
	assert.True(t, again.USBBoot(4))

	// An unreadable state file means every slot starts off.
	require.NoError(t, os.WriteFile(path, []byte("{nope"), 0o644))
	broken, err := sim.New(&sim.Opts{StatePath: path})
	require.NoError(t, err)
	p, err = broken.PowerState(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, hal.PowerOff, p)
}

// nodeLog records what the board tells its nodes.
type nodeLog []string

func (l *nodeLog) SetPower(slot int, on bool) {
	*l = append(*l, fmt.Sprintf("slot%d power=%t", slot, on))
}
func (l *nodeLog) Reset(slot int) { *l = append(*l, fmt.Sprintf("slot%d reset", slot)) }

var _ sim.Nodes = (*nodeLog)(nil)

// TestNodesFollowPower: the nodes learn when their operating system
// starts (the power the board starts with, power-on, a reset that leaves
// the USB boot ROM) and stops (power-off, a reset into the USB boot ROM),
// of each reset while it runs, and of nothing else: a module started in
// its USB boot ROM or absent runs no system.
func TestNodesFollowPower(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hw.json")
	before, err := sim.New(&sim.Opts{StatePath: path})
	require.NoError(t, err)
	require.NoError(t, before.SetPower(ctx, 3, true))
	require.NoError(t, before.Close())

	var seen nodeLog
	b, err := sim.New(&sim.Opts{StatePath: path, Nodes: &seen})
	require.NoError(t, err)
	assert.Equal(t, nodeLog{"slot3 power=true"}, seen, "a slot on since the last run boots its node")
	require.NoError(t, b.SetPower(ctx, 2, true))
	require.NoError(t, b.SetPower(ctx, 2, true)) // no change
	require.NoError(t, b.Reset(ctx, 2))
	require.NoError(t, b.SetPower(ctx, 2, false))
	assert.Equal(t, nodeLog{"slot3 power=true", "slot2 power=true", "slot2 reset", "slot2 power=false"}, seen)

	// Flashing: powered up with the strap asserted, the module runs its
	// boot ROM; releasing the strap and resetting boots the system.
	seen = nil
	require.NoError(t, b.SetUSBBoot(ctx, 2, true))
	require.NoError(t, b.SetPower(ctx, 2, true))
	require.NoError(t, b.Reset(ctx, 2)) // strap still asserted: boot ROM again
	require.NoError(t, b.SetUSBBoot(ctx, 2, false))
	assert.Empty(t, seen, "a module in its USB boot ROM runs no system")
	require.NoError(t, b.Reset(ctx, 2))
	require.NoError(t, b.SetUSBBoot(ctx, 2, true))
	require.NoError(t, b.Reset(ctx, 2))
	require.NoError(t, b.SetPower(ctx, 2, false))
	assert.Equal(t, nodeLog{"slot2 power=true", "slot2 power=false"}, seen)
}

func TestAbsentModuleRunsNoSystem(t *testing.T) {
	t.Parallel()
	var seen nodeLog
	b, err := sim.New(&sim.Opts{Absent: []int{4}, Nodes: &seen})
	require.NoError(t, err)
	require.NoError(t, b.SetPower(context.Background(), 4, true))
	require.NoError(t, b.Reset(context.Background(), 4))
	require.NoError(t, b.SetPower(context.Background(), 4, false))
	assert.Empty(t, seen)
}

func TestStateFileIsPrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hw.json")
	b, err := sim.New(&sim.Opts{StatePath: path})
	require.NoError(t, err)
	require.NoError(t, b.Close())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

func TestTransitionsAreBounded(t *testing.T) {
	ctx := context.Background()
	b, err := sim.New(nil)
	require.NoError(t, err)
	const toggles = 1000
	for i := range toggles {
		require.NoError(t, b.SetPower(ctx, 1, i%2 == 0))
	}
	got := b.Transitions()
	require.Less(t, len(got), toggles)
	require.Greater(t, len(got), 200)
	// The newest are kept: the last one switched slot 1 off.
	assert.Equal(t, "slot1 power=off", got[len(got)-1].String())
	for i := 1; i < len(got); i++ {
		require.NotEqual(t, got[i-1].Value, got[i].Value, "transition %d", i)
	}
}
