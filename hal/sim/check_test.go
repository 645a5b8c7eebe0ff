package sim_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/sim"
)

func TestProbeMakesNoTransition(t *testing.T) {
	t.Parallel()
	b, err := sim.New(&sim.Opts{Slots: 4, Absent: []int{4}})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, b.SetPower(ctx, 2, true))
	before := b.Transitions()
	got := b.Probe(ctx)
	assert.Equal(t, before, b.Transitions(), "probing changed the simulated hardware")
	require.Len(t, got, 5)
	assert.Equal(t, "power off, usb boot strap released, module installed", got[0].Detail)
	assert.Equal(t, "power on, usb boot strap released, module installed", got[1].Detail)
	assert.Contains(t, got[3].Detail, "module absent")
	assert.False(t, hal.Failed(got))
}
