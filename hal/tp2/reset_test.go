package tp2

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal"
)

func TestResetV24(t *testing.T) {
	tests := []struct {
		name      string
		activeLow bool
		pulse     time.Duration
		want      []string
	}{
		{"raw pins, default pulse", true, 0, []string{"node2-rst=Low", "sleep 100ms", "node2-rst=High"}},
		{"named lines, default pulse", false, 0, []string{"node2-rst=High", "sleep 100ms", "node2-rst=Low"}},
		{"raw pins, 20 ms pulse", true, 20 * time.Millisecond, []string{"node2-rst=Low", "sleep 20ms", "node2-rst=High"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			r := newRig(t, tt.activeLow)
			b, err := NewV24(r.lines, &Opts{Clock: r.clock, ResetPulse: tt.pulse})
			require.NoError(t, err)
			require.NoError(t, b.SetPower(ctx, 2, true))
			r.log.take()

			require.NoError(t, b.Reset(ctx, 2))
			assert.Equal(t, tt.want, r.log.take())
			got, err := b.PowerState(ctx, 2)
			require.NoError(t, err)
			assert.Equal(t, hal.PowerOn, got)
		})
	}

	t.Run("slot off: reset stays asserted, nothing written", func(t *testing.T) {
		r := newRig(t, true)
		err := r.v24(t).Reset(context.Background(), 2)
		assert.EqualError(t, err, "tp2: slot 2 reset: slot is off")
		assert.Empty(t, r.log.take())
	})

	t.Run("cancelled during the pulse: reset released anyway", func(t *testing.T) {
		r := newRig(t, true)
		b := r.v24(t)
		require.NoError(t, b.SetPower(context.Background(), 2, true))
		r.log.take()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r.clock.hook = func(time.Duration) bool { cancel(); return false }

		err := b.Reset(ctx, 2)
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorContains(t, err, "tp2: slot 2 reset: wait after node2-rst")
		assert.Equal(t, []string{"node2-rst=Low", "sleep 100ms", "node2-rst=High"}, r.log.take())
	})
}

func TestResetCapability(t *testing.T) {
	r := newRig(t, true)
	tests := []struct {
		name  string
		board hal.Board
		reset bool
	}{
		{"v2.4 has reset lines", r.v24(t), true},
		{"v2.5 has none", r.v25(t, false), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok := tt.board.(hal.Resetter)
			assert.Equal(t, tt.reset, ok)
			_, ok = tt.board.(hal.USBBootStrapper)
			assert.True(t, ok)
			_, ok = tt.board.(hal.USBRouter)
			assert.True(t, ok)
			_, ok = tt.board.(hal.PresenceSensor)
			assert.False(t, ok)
		})
	}
}
