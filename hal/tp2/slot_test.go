package tp2

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/turingpi-oss/bmcd/hal"
)

func TestNoSlot(t *testing.T) {
	ops := []struct {
		name string
		do   func(b hal.Board, slot int) error
	}{
		{"power on", func(b hal.Board, s int) error { return b.SetPower(context.Background(), s, true) }},
		{"power off", func(b hal.Board, s int) error { return b.SetPower(context.Background(), s, false) }},
		{"power state", func(b hal.Board, s int) error {
			st, err := b.PowerState(context.Background(), s)
			assert.Equal(t, hal.PowerUnknown, st)
			return err
		}},
		{"usb boot", func(b hal.Board, s int) error {
			return b.(hal.USBBootStrapper).SetUSBBoot(context.Background(), s, true)
		}},
		{"usb", func(b hal.Board, s int) error {
			return b.(hal.USBRouter).SetUSB(context.Background(), hal.USBConfig{Slot: s})
		}},
	}
	for _, op := range ops {
		for _, slot := range []int{0, 5, -1} {
			for _, v25 := range []bool{false, true} {
				name := op.name + " v2.4"
				if v25 {
					name = op.name + " v2.5"
				}
				t.Run(name, func(t *testing.T) {
					r := newRig(t, true)
					var b hal.Board = r.v24(t)
					if v25 {
						b = r.v25(t, false)
					}
					assert.ErrorIs(t, op.do(b, slot), hal.ErrNoSlot)
					assert.Empty(t, r.log.take())
				})
			}
		}
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ops := []struct {
		name string
		do   func(b *BoardV24) error
	}{
		{"power on", func(b *BoardV24) error { return b.SetPower(ctx, 1, true) }},
		{"power off", func(b *BoardV24) error { return b.SetPower(ctx, 1, false) }},
		{"usb boot", func(b *BoardV24) error { return b.SetUSBBoot(ctx, 1, true) }},
		{"usb", func(b *BoardV24) error { return b.SetUSB(ctx, hal.USBConfig{Slot: 1}) }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			r := newRig(t, true)
			assert.ErrorIs(t, op.do(r.v24(t)), context.Canceled)
			assert.Empty(t, r.log.take())
		})
	}
	t.Run("usb v2.5", func(t *testing.T) {
		r := newRig(t, true)
		assert.ErrorIs(t, r.v25(t, false).SetUSB(ctx, hal.USBConfig{Slot: 1}), context.Canceled)
		assert.Empty(t, r.log.take())
	})
}
