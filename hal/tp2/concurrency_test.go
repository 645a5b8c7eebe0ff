package tp2

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal"
)

// TestConcurrentPower powers the four slots on at once, then off at once.
// The rig's invariant checks fail the test if the PSU is ever switched
// off while a slot regulator is on, or a regulator switched on while the
// PSU is off.
func TestConcurrentPower(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, true)
	b := r.v24(t)
	all := func(on bool) {
		var wg sync.WaitGroup
		for s := 1; s <= Slots; s++ {
			wg.Go(func() { assert.NoError(t, b.SetPower(ctx, s, on)) })
		}
		wg.Wait()
	}
	count := func(log []string, line string) int {
		n := 0
		for _, l := range log {
			if l == line {
				n++
			}
		}
		return n
	}

	for round := range 20 {
		all(true)
		log := r.log.take()
		assert.Equal(t, 1, count(log, "atx-psu=on"), "round %d: PSU switched on once", round)
		require.True(t, r.regs[psuName].isOn())
		for s := 1; s <= Slots; s++ {
			st, err := b.PowerState(ctx, s)
			require.NoError(t, err)
			assert.Equal(t, hal.PowerOn, st, "slot %d", s)
		}

		all(false)
		log = r.log.take()
		assert.Equal(t, 1, count(log, "atx-psu=off"), "round %d: PSU switched off once", round)
		assert.Equal(t, "atx-psu=off", log[len(log)-1], "round %d: PSU off last", round)
		assert.False(t, r.regs[psuName].isOn())
	}
}
