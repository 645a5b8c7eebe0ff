package bmc_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/hal"
)

// logBuffer collects a board's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestRefusedPowerActionLogged: a refused reset is logged as not done,
// with its reason, and never as done; a done action is logged as done.
func TestRefusedPowerActionLogged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var log logBuffer
	b := newBoard(t, newSim(t, dir, 4), dir, func(c *bmc.Config) { c.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
	ctx := context.Background()

	_, err := b.Power(ctx, 2, bmc.Reset, bmc.PowerOpts{})
	require.ErrorIs(t, err, bmc.ErrSlotOff)
	assert.Equal(t, "reset slot 2: the slot is off", err.Error(), "the action and the slot, once")
	assert.NotContains(t, log.String(), `msg="bmc: power" `)
	assert.Contains(t, log.String(), `msg="bmc: power action not done" slot=2 action=reset err="reset slot 2: the slot is off"`)

	_, err = b.Power(ctx, 2, bmc.On, bmc.PowerOpts{})
	require.NoError(t, err)
	assert.Contains(t, log.String(), `msg="bmc: power" slot=2 action=on power=on`)
}

func TestPowerErrorMessages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := newBoard(t, newSim(t, dir, 4), dir, func(c *bmc.Config) { c.SelfSlot = 1 })
	ctx := context.Background()
	tests := []struct {
		name   string
		slot   int
		action bmc.Action
		want   string
	}{
		{name: "reset of an off slot", slot: 3, action: bmc.Reset, want: "reset slot 3: the slot is off"},
		{name: "off of bmcd's own slot", slot: 1, action: bmc.Off, want: "power off slot 1: the slot runs bmcd itself; use force to switch it off"},
		{name: "cycle of bmcd's own slot", slot: 1, action: bmc.Cycle, want: "power cycle slot 1: the slot runs bmcd itself; use force to switch it off"},
		{name: "unknown action", slot: 3, action: "explode", want: `action "explode": want on, off, reset or cycle`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.Power(ctx, tt.slot, tt.action, bmc.PowerOpts{})
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

// TestPowerNotSavedWarns switches a slot while the state directory cannot
// be written: the change is made and the answer says it was not saved,
// until a write succeeds again.
func TestPowerNotSavedWarns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	require.NoError(t, os.Mkdir(stateDir, 0o700))
	b := newBoard(t, newSim(t, dir, 4), stateDir)
	ctx := context.Background()
	// Gone: every write fails, even as root (a read-only directory would not).
	require.NoError(t, os.RemoveAll(stateDir))

	st, err := b.Power(ctx, 2, bmc.On, bmc.PowerOpts{})
	require.NoError(t, err, "the power change itself worked")
	assert.Equal(t, hal.PowerOn, st.Power)
	assert.Contains(t, st.Warning, "requested power state not saved")
	assert.Contains(t, st.Warning, "after a restart, the restore policy would act on an older request")
	other, err := b.Slot(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, st.Warning, other.Warning, "the state file holds every slot")

	require.NoError(t, os.Mkdir(stateDir, 0o700))
	_, err = b.Power(ctx, 2, bmc.Off, bmc.PowerOpts{})
	require.NoError(t, err)
	// The background write of this request saves everything again.
	require.Eventually(t, func() bool {
		st, err := b.Slot(ctx, 2)
		return err == nil && st.Warning == ""
	}, 10*time.Second, time.Millisecond, "saved again")
	_, err = os.Stat(filepath.Join(stateDir, "state.json"))
	assert.NoError(t, err)
}
