package tp2

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/hal"
)

func TestResetCapability(t *testing.T) {
	r := newRig(t, true)
	tests := []struct {
		name  string
		board hal.Board
	}{
		// The v2.4 nodeN-rst lines are not connected (vendor bmcd 71c0126).
		{"v2.4 has no usable reset lines", r.v24(t)},
		{"v2.5 has none", r.v25(t, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok := tt.board.(hal.Resetter)
			assert.False(t, ok, "hal.Resetter")
			_, ok = tt.board.(hal.USBBootStrapper)
			assert.True(t, ok)
			_, ok = tt.board.(hal.USBRouter)
			assert.True(t, ok)
			_, ok = tt.board.(hal.PresenceSensor)
			assert.False(t, ok)
		})
	}
}

// A reset of a v2.4 slot through the domain layer is a power cycle: the
// off sequence, bmc's CycleDelay, the on sequence, as the vendor's
// reset_node does.
func TestResetV24PowerCycles(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, true)
	hw := r.v24(t)
	require.NoError(t, hw.SetPower(ctx, 2, true))
	b, err := bmc.New(bmc.Config{HW: hw, StateDir: t.TempDir(), Clock: r.clock})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, b.Close()) })
	r.log.take()

	st, err := b.Power(ctx, 2, bmc.Reset, bmc.PowerOpts{})
	require.NoError(t, err)
	assert.Equal(t, hal.PowerOn, st.Power)
	want := append(v24Off(2, true, true), "sleep 1s")
	want = append(want, v24On(2, true, true)...)
	assert.Equal(t, want, r.log.take())
	assert.NotContains(t, b.Capabilities(), "reset")
}
