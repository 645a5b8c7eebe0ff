package bmc_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc"
)

// writerWaiting waits until the background writer waits out its
// interval on clock.
func writerWaiting(t *testing.T, clock *clockwork.FakeClock) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, clock.BlockUntilContext(ctx, 1), "the writer waits for the interval's end")
}

// requestedOnDisk reads the requested power states from the state file
// as a restarted bmcd would find them, by slot number.
func requestedOnDisk(t *testing.T, dir string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var st struct {
		Slots map[string]struct {
			Requested string `json:"requested"`
		} `json:"slots"`
	}
	require.NoError(t, json.Unmarshal(raw, &st))
	out := map[string]string{}
	for k, s := range st.Slots {
		out[k] = s.Requested
	}
	return out
}

// TestRequestedPowerGroupCommit: a burst of power requests shares one
// write of the state file (group commit), which lands within
// StateWriteInterval and holds the last request of each slot.
func TestRequestedPowerGroupCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	clock := clockwork.NewFakeClock()
	const interval = 500 * time.Millisecond
	b := newBoard(t, newSim(t, dir, 4), dir, func(c *bmc.Config) {
		c.Clock = clock
		c.StateWriteInterval = interval
	})

	// After a quiet spell the first request is written at once.
	_, err := b.Power(ctx, 1, bmc.On, bmc.PowerOpts{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return b.StateWrites() == 1 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, "on", requestedOnDisk(t, dir)["1"])

	// The writer now waits out the interval; a burst meanwhile is not
	// written request by request.
	writerWaiting(t, clock)
	actions := []bmc.Action{bmc.On, bmc.Off}
	for i := range 101 {
		_, err := b.Power(ctx, 2, actions[i%2], bmc.PowerOpts{})
		require.NoError(t, err)
	}
	_, err = b.Power(ctx, 3, bmc.Off, bmc.PowerOpts{})
	require.NoError(t, err)
	assert.Equal(t, int64(1), b.StateWrites(), "the burst waits for the interval's end")
	assert.Empty(t, requestedOnDisk(t, dir)["2"], "not on disk before the group write")

	// At the interval's end one write holds the burst, last request last.
	clock.Advance(interval)
	require.Eventually(t, func() bool { return b.StateWrites() == 2 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, map[string]string{"1": "on", "2": "on", "3": "off", "4": ""}, requestedOnDisk(t, dir))

	// Nothing new: the next interval passes without a write, and the
	// next request after it is written at once again.
	writerWaiting(t, clock)
	clock.Advance(interval)
	_, err = b.Power(ctx, 4, bmc.On, bmc.PowerOpts{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return b.StateWrites() == 3 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, "on", requestedOnDisk(t, dir)["4"])
}

// TestRequestedPowerWrittenOnClose: requests still waiting for the
// group write when bmcd stops are written by Close, so a restart finds
// the last one of each slot.
func TestRequestedPowerWrittenOnClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	clock := clockwork.NewFakeClock()
	hw := newSim(t, dir, 4)
	b, err := bmc.New(bmc.Config{HW: hw, StateDir: dir, Clock: clock, BusyTimeout: time.Second})
	require.NoError(t, err)
	_, err = b.Power(ctx, 1, bmc.On, bmc.PowerOpts{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return b.StateWrites() == 1 }, 10*time.Second, time.Millisecond)
	writerWaiting(t, clock)
	for _, a := range []bmc.Action{bmc.Off, bmc.On, bmc.Off} {
		_, err = b.Power(ctx, 1, a, bmc.PowerOpts{})
		require.NoError(t, err)
	}
	_, err = b.Power(ctx, 2, bmc.On, bmc.PowerOpts{})
	require.NoError(t, err)
	require.Equal(t, int64(1), b.StateWrites())
	require.NoError(t, b.Close())
	assert.Equal(t, map[string]string{"1": "off", "2": "on", "3": "", "4": ""}, requestedOnDisk(t, dir))

	again := newBoard(t, hw, dir)
	st, err := again.Slot(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "off", st.Requested)
}
