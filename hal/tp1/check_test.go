package tp1_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/tp1"
)

// The probe only reads: a Playback holding nothing but reads fails on any
// write (DontPanic makes a mismatch an error) and Close fails unless
// every read was made.
func TestProbeOnlyReads(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		see  byte
		want hal.CheckStatus
	}{
		{"SEE set", 0x01, hal.CheckOK},
		// New would write 0xF4 here; the probe must not.
		{"SEE clear", 0x00, hal.CheckWarn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Slot 1 on with a module, slot 2 on and empty, the rest off.
			pb := &i2ctest.Playback{Ops: []i2ctest.IO{rd(0xF4, tc.see), rd(0xF2, slotBit(1)|slotBit(2)), rd(0xF8, slotBit(1))}, DontPanic: true}
			got := tp1.Probe(context.Background(), pb, 0)
			require.NoError(t, pb.Close(), "exactly the three reads")
			require.Len(t, got, 2+7)
			assert.Equal(t, hal.CheckOK, got[0].Status, got[0].Detail)
			assert.Equal(t, tc.want, got[1].Status, got[1].Detail)
			assert.Equal(t, "on, module present", got[2].Detail)
			assert.Contains(t, got[3].Detail, "empty slot")
			assert.Contains(t, got[4].Detail, "off")
			assert.False(t, hal.Failed(got))
		})
	}
}

func TestProbeNoChip(t *testing.T) {
	t.Parallel()
	pb := &i2ctest.Playback{DontPanic: true} // nothing answers
	got := tp1.Probe(context.Background(), pb, 0)
	require.Len(t, got, 1)
	assert.Equal(t, hal.CheckFail, got[0].Status)
	assert.True(t, hal.Failed(got))
}

func TestBoardProbeOnlyReads(t *testing.T) {
	t.Parallel()
	b, pb := newBoard(t, nil, rd(0xF4, 0x01), rd(0xF2, 0xFE), rd(0xF8, 0xFE))
	got := b.Probe(context.Background())
	require.NoError(t, pb.Close())
	assert.False(t, hal.Failed(got))
}
