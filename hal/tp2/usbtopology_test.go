package tp2_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/tp2"
)

// TestUSBLayoutOf: the v2.5's hub lets every slot flash at once and is
// looked for by a check; the v2.4's multiplexer does neither.
func TestUSBLayoutOf(t *testing.T) {
	t.Parallel()
	hub := &[2]uint16{0x05e3, 0x0608}
	for _, tc := range []struct {
		rev  string
		want hal.USBLayout
	}{
		{rev: "tp2-v2.4", want: hal.USBLayout{}},
		{rev: "tp2-v2.5", want: hal.USBLayout{ParallelFlash: true, Hub: hub}},
		{rev: "v2.5.1", want: hal.USBLayout{ParallelFlash: true, Hub: hub}},
	} {
		t.Run(tc.rev, func(t *testing.T) {
			got, err := tp2.USBLayoutOf(tc.rev)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	_, err := tp2.USBLayoutOf("tp2-v3")
	require.Error(t, err)
}
