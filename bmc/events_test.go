package bmc_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/hal"
)

func TestEventsOnPowerAndSlotChange(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := newBoard(t, newSim(t, dir, 4), dir)
	b.Slots(ctx) // first measurement: not a change anyone caused
	sub := b.Subscribe(0)
	defer sub.Close()

	_, err := b.Power(ctx, 3, bmc.On, bmc.PowerOpts{})
	require.NoError(t, err)
	name := "worker"
	_, err = b.UpdateSlot(ctx, 3, bmc.SlotUpdate{Name: &name})
	require.NoError(t, err)

	e := <-sub.C
	assert.Equal(t, bmc.EventPower, e.Type)
	assert.Equal(t, 3, e.Slot.Slot)
	assert.Equal(t, hal.PowerOn, e.Slot.Power)
	assert.False(t, e.Slot.PowerChangedAt.IsZero())
	e2 := <-sub.C
	assert.Equal(t, bmc.EventSlot, e2.Type)
	assert.Equal(t, "worker", e2.Slot.Name)
	assert.Equal(t, e.ID+1, e2.ID)

	// A reconnecting subscriber replays what came after the last ID it saw.
	replay := b.Subscribe(e.ID)
	defer replay.Close()
	got := <-replay.C
	assert.Equal(t, e2.ID, got.ID)
}

func TestSlowSubscriberIsDroppedNotBlocking(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := newBoard(t, newSim(t, dir, 4), dir)
	stalled := b.Subscribe(0) // never read
	live := b.Subscribe(0)
	defer live.Close()

	received := 0
	for i := range 100 {
		a := bmc.On
		if i%2 == 1 {
			a = bmc.Off
		}
		_, err := b.Power(ctx, 1, a, bmc.PowerOpts{})
		require.NoError(t, err)
		for len(live.C) > 0 {
			<-live.C
			received++
		}
	}
	assert.Equal(t, 100, received, "a stalled subscriber must not cost the others events")
	assert.True(t, stalled.Lagged())
	n := 0
	for range stalled.C { // closed after what it had buffered
		n++
	}
	assert.Less(t, n, 100)
}
