package bmc_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/sim"
)

// newSim returns a simulated board whose hardware state lives in dir, so
// a second bmc.Board over the same dir sees the same "hardware".
func newSim(t *testing.T, dir string, slots int) *sim.Board {
	t.Helper()
	hw, err := sim.New(&sim.Opts{Slots: slots, StatePath: filepath.Join(dir, "hw.json")})
	require.NoError(t, err)
	return hw
}

func newBoard(t *testing.T, hw hal.Board, dir string, mod ...func(*bmc.Config)) *bmc.Board {
	t.Helper()
	cfg := bmc.Config{HW: hw, StateDir: dir, StaggerDelay: time.Millisecond, CycleDelay: time.Millisecond, BusyTimeout: time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	b, err := bmc.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, b.Close()) })
	return b
}

func transitions(hw *sim.Board) []string {
	var out []string
	for _, tr := range hw.Transitions() {
		out = append(out, tr.String())
	}
	return out
}

func TestPowerActions(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		startOn bool
		action  bmc.Action
		want    []string // transitions caused by the action
		power   hal.PowerState
		wantErr error
	}{
		{name: "on", action: bmc.On, want: []string{"slot3 power=on"}, power: hal.PowerOn},
		{name: "on when on", startOn: true, action: bmc.On, want: nil, power: hal.PowerOn},
		{name: "off", startOn: true, action: bmc.Off, want: []string{"slot3 power=off"}, power: hal.PowerOff},
		{name: "cycle", startOn: true, action: bmc.Cycle, want: []string{"slot3 power=off", "slot3 power=on"}, power: hal.PowerOn},
		{name: "cycle when off switches on", action: bmc.Cycle, want: []string{"slot3 power=on"}, power: hal.PowerOn},
		{name: "reset uses the reset line", startOn: true, action: bmc.Reset, want: []string{"slot3 reset=asserted", "slot3 reset=released"}, power: hal.PowerOn},
		{name: "reset when off", action: bmc.Reset, wantErr: bmc.ErrSlotOff, power: hal.PowerOff},
		{name: "unknown action", action: "explode", wantErr: bmc.ErrInvalid, power: hal.PowerOff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			hw := newSim(t, dir, 4)
			if tt.startOn {
				require.NoError(t, hw.SetPower(ctx, 3, true))
			}
			before := len(hw.Transitions())
			b := newBoard(t, hw, dir)

			st, err := b.Power(ctx, 3, tt.action, bmc.PowerOpts{})
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, append([]string{}, tt.want...), append([]string{}, transitions(hw)[before:]...))
			got, err := b.Slot(ctx, 3)
			require.NoError(t, err)
			assert.Equal(t, tt.power, got.Power)
			if tt.wantErr == nil {
				assert.Equal(t, tt.power, st.Power, "Power returns the measured state")
			}
		})
	}
}

// noReset hides the simulated board's reset line, like a Turing Pi 2 v2.5.
type noReset struct{ hal.Board }

func TestResetWithoutResetLineCycles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	hw := newSim(t, dir, 4)
	require.NoError(t, hw.SetPower(ctx, 2, true))
	b := newBoard(t, noReset{hw}, dir)
	assert.NotContains(t, b.Capabilities(), "reset")

	_, err := b.Power(ctx, 2, bmc.Reset, bmc.PowerOpts{})
	require.NoError(t, err)
	assert.Equal(t, []string{"slot2 power=on", "slot2 power=off", "slot2 power=on"}, transitions(hw))
}

func TestBadSlot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	hw := newSim(t, dir, 4)
	b := newBoard(t, hw, dir)
	for _, slot := range []int{0, 5, -1} {
		_, err := b.Power(ctx, slot, bmc.On, bmc.PowerOpts{})
		assert.ErrorIs(t, err, hal.ErrNoSlot, "slot %d", slot)
		_, err = b.Slot(ctx, slot)
		assert.ErrorIs(t, err, hal.ErrNoSlot, "slot %d", slot)
	}
	assert.Empty(t, hw.Transitions())
}

func TestSelfSlotNeedsForce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	hw := newSim(t, dir, 7)
	require.NoError(t, hw.SetPower(ctx, 1, true))
	b := newBoard(t, hw, dir, func(c *bmc.Config) { c.SelfSlot = 1 })

	for _, a := range []bmc.Action{bmc.Off, bmc.Cycle, bmc.Reset} {
		_, err := b.Power(ctx, 1, a, bmc.PowerOpts{})
		assert.ErrorIs(t, err, bmc.ErrSelfSlot, "action %s", a)
	}
	slots, err := b.PowerAll(ctx, bmc.Off, bmc.PowerOpts{})
	require.NoError(t, err)
	assert.Equal(t, hal.PowerOn, slots[0].Power, "all off leaves the self slot on")
	assert.True(t, slots[0].Self)
	assert.Equal(t, []string{"slot1 power=on"}, transitions(hw))

	st, err := b.Power(ctx, 1, bmc.Off, bmc.PowerOpts{Force: true})
	require.NoError(t, err)
	assert.Equal(t, hal.PowerOff, st.Power)
}

// TestRestorePolicy covers the restore policy at start for every policy,
// measured state and last request. Run with -race.
func TestRestorePolicy(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		policy    bmc.Policy
		requested bmc.Action // last user request before the restart; "" none
		measured  bool       // slot on when the daemon starts
		wantOn    bool
		switched  bool // RestorePower caused a transition
	}{
		{policy: bmc.AlwaysOff, measured: false, wantOn: false},
		{policy: bmc.AlwaysOff, requested: bmc.On, measured: true, wantOn: true}, // never switched off by a restart
		{policy: bmc.AlwaysOn, measured: false, wantOn: true, switched: true},
		{policy: bmc.AlwaysOn, measured: true, wantOn: true},
		{policy: bmc.LastState, requested: bmc.On, measured: false, wantOn: true, switched: true},
		{policy: bmc.LastState, requested: bmc.Off, measured: false, wantOn: false},
		{policy: bmc.LastState, measured: false, wantOn: false},
		{policy: bmc.LastState, requested: bmc.On, measured: true, wantOn: true},
	}
	for _, tt := range tests {
		name := string(tt.policy) + "/requested=" + string(tt.requested) + "/on=" + map[bool]string{true: "yes", false: "no"}[tt.measured]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			hw := newSim(t, dir, 4)
			first := newBoard(t, hw, dir)
			p := tt.policy
			_, err := first.UpdateSlot(ctx, 2, bmc.SlotUpdate{Policy: &p})
			require.NoError(t, err)
			if tt.requested != "" {
				_, err := first.Power(ctx, 2, tt.requested, bmc.PowerOpts{})
				require.NoError(t, err)
			}
			require.NoError(t, first.Close()) // the daemon stops
			// What the hardware is doing when the daemon starts again
			// (the board lost power, or not).
			hw = newSim(t, dir, 4)
			require.NoError(t, hw.SetPower(ctx, 2, tt.measured))
			before := len(hw.Transitions())

			second := newBoard(t, hw, dir)
			require.NoError(t, second.RestorePower(ctx))

			st, err := second.Slot(ctx, 2)
			require.NoError(t, err)
			assert.Equal(t, tt.wantOn, st.Power == hal.PowerOn)
			caused := transitions(hw)[before:]
			if tt.switched {
				assert.Equal(t, []string{"slot2 power=on"}, caused)
			} else {
				assert.Empty(t, caused, "restart must not toggle the slot")
			}
		})
	}
}

// TestRestartWithSlotOnNeverToggles restarts the daemon twice with a node
// running and checks the hardware saw no transition at all.
func TestRestartWithSlotOnNeverToggles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	hw := newSim(t, dir, 4)
	for _, p := range []bmc.Policy{bmc.AlwaysOff, bmc.AlwaysOn, bmc.LastState} {
		b := newBoard(t, hw, dir)
		_, err := b.UpdateSlot(ctx, 1, bmc.SlotUpdate{Policy: &p})
		require.NoError(t, err)
		_, err = b.Power(ctx, 1, bmc.On, bmc.PowerOpts{})
		require.NoError(t, err)
		require.NoError(t, b.Close())
		before := len(hw.Transitions())
		for range 2 {
			restarted := newBoard(t, hw, dir)
			require.NoError(t, restarted.RestorePower(ctx))
			require.NoError(t, restarted.Close())
		}
		assert.Empty(t, transitions(hw)[before:], "policy %s", p)
	}
}

// TestAllOnIsStaggered checks every slot is switched on, in order, at
// least StaggerDelay apart.
func TestAllOnIsStaggered(t *testing.T) {
	ctx := context.Background()
	const stagger = 20 * time.Millisecond
	dir := t.TempDir()
	hw := newSim(t, dir, 7)
	require.NoError(t, hw.SetPower(ctx, 4, true)) // already on: no pause for it
	b := newBoard(t, hw, dir, func(c *bmc.Config) { c.StaggerDelay = stagger })
	before := len(hw.Transitions())

	slots, err := b.PowerAll(ctx, bmc.On, bmc.PowerOpts{})
	require.NoError(t, err)
	for _, st := range slots {
		assert.Equal(t, hal.PowerOn, st.Power, "slot %d", st.Slot)
		assert.Equal(t, "on", st.Requested, "slot %d", st.Slot)
	}
	trs := hw.Transitions()[before:]
	var order []int
	for i, tr := range trs {
		order = append(order, tr.Slot)
		if i > 0 {
			gap := tr.At.Sub(trs[i-1].At)
			assert.GreaterOrEqual(t, gap, stagger, "gap before slot %d", tr.Slot)
		}
	}
	assert.Equal(t, []int{1, 2, 3, 5, 6, 7}, order)
}

// overlapBoard records how many SetPower calls run at once, per slot and
// in total, to prove same-slot serialization and cross-slot parallelism.
type overlapBoard struct {
	hal.Board
	mu         sync.Mutex
	perSlot    map[int]int
	maxPerSlot int
	total      int
	maxTotal   int
}

func (o *overlapBoard) SetPower(ctx context.Context, slot int, on bool) error {
	o.mu.Lock()
	o.perSlot[slot]++
	o.total++
	o.maxPerSlot = max(o.maxPerSlot, o.perSlot[slot])
	o.maxTotal = max(o.maxTotal, o.total)
	o.mu.Unlock()
	time.Sleep(2 * time.Millisecond) // a power sequence takes time
	err := o.Board.SetPower(ctx, slot, on)
	o.mu.Lock()
	o.perSlot[slot]--
	o.total--
	o.mu.Unlock()
	return err
}

func TestSameSlotSerializedOtherSlotsParallel(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	hw := newSim(t, dir, 4)
	o := &overlapBoard{Board: hw, perSlot: map[int]int{}}
	b := newBoard(t, o, dir, func(c *bmc.Config) { c.BusyTimeout = time.Minute })

	var wg sync.WaitGroup
	var failures atomic.Int32
	for slot := 1; slot <= 4; slot++ {
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := bmc.On
				if i%2 == 1 {
					a = bmc.Off
				}
				if _, err := b.Power(ctx, slot, a, bmc.PowerOpts{}); err != nil {
					failures.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	assert.Zero(t, failures.Load())
	assert.Equal(t, 1, o.maxPerSlot, "two operations ran on one slot at once")
	assert.Greater(t, o.maxTotal, 1, "different slots never ran in parallel")
}

// blockingBoard holds SetPower until released, to keep a slot busy.
type blockingBoard struct {
	hal.Board
	entered chan struct{}
	release chan struct{}
}

func (b *blockingBoard) SetPower(ctx context.Context, slot int, on bool) error {
	b.entered <- struct{}{}
	<-b.release
	return b.Board.SetPower(ctx, slot, on)
}

func TestBusySlot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	hw := &blockingBoard{Board: newSim(t, dir, 4), entered: make(chan struct{}), release: make(chan struct{})}
	b := newBoard(t, hw, dir, func(c *bmc.Config) { c.BusyTimeout = 20 * time.Millisecond })

	done := make(chan error)
	go func() { _, err := b.Power(ctx, 1, bmc.On, bmc.PowerOpts{}); done <- err }()
	<-hw.entered
	st, err := b.Slot(ctx, 1)
	require.NoError(t, err)
	assert.True(t, st.Busy)

	_, err = b.Power(ctx, 1, bmc.Off, bmc.PowerOpts{})
	assert.ErrorIs(t, err, bmc.ErrBusy)
	close(hw.release)
	require.NoError(t, <-done)
	st, err = b.Slot(ctx, 1)
	require.NoError(t, err)
	assert.False(t, st.Busy)
	assert.Equal(t, hal.PowerOn, st.Power)
}

func TestHardwareFailureReportsMeasuredState(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	hw := newSim(t, dir, 4)
	b := newBoard(t, hw, dir)
	boom := errors.New("i2c: nack")
	hw.InjectFault(2, boom)

	st, err := b.Power(ctx, 2, bmc.On, bmc.PowerOpts{})
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "power on slot 2")
	assert.Equal(t, hal.PowerOff, st.Power, "reported state is measured, not the intent")
	assert.Empty(t, st.Requested, "a failed request is not remembered as the last state")
}

func TestCorruptStateFile(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		content string
	}{
		{name: "garbage", content: "\x00\x01not json"},
		{name: "truncated", content: `{"version":1,"slots":{"1":{"pol`},
		{name: "wrong version", content: `{"version":99,"slots":{}}`},
		{name: "bad policy", content: `{"version":1,"slots":{"1":{"policy":"sometimes"}}}`},
		{name: "bad slot key", content: `{"version":1,"slots":{"one":{"policy":"always-on"}}}`},
		{name: "empty", content: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))
			hw := newSim(t, dir, 4)

			b := newBoard(t, hw, dir)
			require.Len(t, b.Warnings(), 1)
			assert.Contains(t, b.Warnings()[0], "corrupt")
			aside, err := os.ReadFile(path + ".corrupt")
			require.NoError(t, err)
			assert.Equal(t, tt.content, string(aside), "the corrupt file is kept for inspection")
			for _, st := range b.Slots(ctx) {
				assert.Equal(t, bmc.AlwaysOff, st.Policy)
			}
			require.NoError(t, b.RestorePower(ctx))
			assert.Empty(t, hw.Transitions())

			// The replacement is valid: a restart has no warning.
			again := newBoard(t, hw, dir)
			assert.Empty(t, again.Warnings())
		})
	}
}

func TestUpdateSlotPersists(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	hw := newSim(t, dir, 4)
	b := newBoard(t, hw, dir)
	name, module, policy := "k3s-server", "CM4", bmc.AlwaysOn
	st, err := b.UpdateSlot(ctx, 4, bmc.SlotUpdate{Name: &name, Module: &module, Policy: &policy})
	require.NoError(t, err)
	assert.Equal(t, "k3s-server", st.Name)

	bad := bmc.Policy("sometimes")
	_, err = b.UpdateSlot(ctx, 4, bmc.SlotUpdate{Policy: &bad})
	assert.ErrorIs(t, err, bmc.ErrInvalid)
	long := string(make([]byte, 65))
	_, err = b.UpdateSlot(ctx, 4, bmc.SlotUpdate{Name: &long})
	assert.ErrorIs(t, err, bmc.ErrInvalid)

	again := newBoard(t, hw, dir)
	st, err = again.Slot(ctx, 4)
	require.NoError(t, err)
	assert.Equal(t, "k3s-server", st.Name)
	assert.Equal(t, "CM4", st.Module)
	assert.Equal(t, bmc.AlwaysOn, st.Policy)
}

func TestStateFileUnwritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	ctx := context.Background()
	dir := t.TempDir()
	hw := newSim(t, dir, 4)
	b := newBoard(t, hw, dir)
	require.NoError(t, os.Chmod(dir, 0o500))
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	name := "x"
	_, err := b.UpdateSlot(ctx, 1, bmc.SlotUpdate{Name: &name})
	require.Error(t, err)
	st, err := b.Slot(ctx, 1)
	require.NoError(t, err)
	assert.Empty(t, st.Name, "a change that was not persisted is not applied")
}

func TestRequestedPowerPersistsAcrossRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	hw := newSim(t, dir, 4)
	b := newBoard(t, hw, dir)
	for slot, a := range map[int]bmc.Action{1: bmc.On, 2: bmc.Off, 3: bmc.Cycle} {
		_, err := b.Power(ctx, slot, a, bmc.PowerOpts{})
		require.NoError(t, err)
	}
	require.NoError(t, b.Close())

	again := newBoard(t, hw, dir)
	want := map[int]string{1: "on", 2: "off", 3: "on", 4: ""}
	for _, st := range again.Slots(ctx) {
		assert.Equal(t, want[st.Slot], st.Requested, "slot %d", st.Slot)
	}
}

func TestSavePowerDefaultsKeepsSelfSlotOn(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	hw := newSim(t, dir, 7)
	b := newBoard(t, hw, dir, func(c *bmc.Config) { c.SelfSlot = 1 })
	require.ErrorIs(t, b.SavePowerDefaults(ctx), bmc.ErrSelfSlot)
	require.NoError(t, hw.SetPower(ctx, 1, true))
	require.NoError(t, b.SavePowerDefaults(ctx))

	unsupported := newBoard(t, noReset{hw}, t.TempDir())
	require.ErrorIs(t, unsupported.SavePowerDefaults(ctx), hal.ErrNotSupported)
}
