package tp2

import (
	"context"
	"errors"
	"fmt"

	"github.com/turingpi-oss/bmcd/hal"
)

// BoardV24 is a Turing Pi 2 v2.4: slot regulators, enable, reset and USB
// boot lines per node, and the USB multiplexer. It is safe for concurrent
// use.
type BoardV24 struct {
	*board
}

var (
	_ hal.Board           = (*BoardV24)(nil)
	_ hal.Resetter        = (*BoardV24)(nil)
	_ hal.USBBootStrapper = (*BoardV24)(nil)
	_ hal.USBRouter       = (*BoardV24)(nil)
)

// NewV24 returns a v2.4 board on lines. Every line but PSU is required;
// opts may be nil.
func NewV24(lines Lines, opts *Opts) (*BoardV24, error) {
	var r required
	for i := range Slots {
		s := i + 1
		r.pin(enName(s), lines.En[i])
		r.pin(rstName(s), lines.Reset[i])
		r.pin(rpibootName(s), lines.RPIBoot[i])
		r.pin(otgName(s), lines.USBOTGDev[i])
		r.reg(powerName(s), lines.Power[i])
	}
	r.pin("usb-sel1", lines.USBSel1)
	r.pin("usb-oe1", lines.USBOE1)
	r.pin("usb-sel2", lines.USBSel2)
	r.pin("usb-oe2", lines.USBOE2)
	r.pin(routeName, lines.USBRoute)
	r.reg(vbusName, lines.USBVBUS)
	if err := r.err("v2.4"); err != nil {
		return nil, err
	}
	b := newBoard(hal.Info{Profile: "tp2-v2.4", Model: "Turing Pi 2 (v2.4)", Slots: Slots}, lines, opts)
	b.hasReset = true
	return &BoardV24{b}, nil
}

// Reset implements hal.Resetter: it holds nodeN-rst asserted for
// Opts.ResetPulse, then releases it. The reset is released even if ctx
// ends during the pulse, so a cancelled reset never leaves the module
// held. A slot that is not on is left alone: its reset stays asserted
// until it is powered on.
func (b *BoardV24) Reset(ctx context.Context, slot int) error {
	if err := b.checkSlot("reset", slot); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tp2: slot %d reset: %w", slot, err)
	}
	b.slotMu[slot-1].Lock()
	defer b.slotMu[slot-1].Unlock()
	state, err := b.PowerState(ctx, slot)
	if err != nil {
		return err
	}
	if state != hal.PowerOn {
		return fmt.Errorf("tp2: slot %d reset: %w", slot, errSlotOff)
	}
	rst := b.lines.Reset[slot-1]
	if err := b.set(rst, rstName(slot), true); err != nil {
		return fmt.Errorf("tp2: slot %d reset: %w", slot, err)
	}
	werr := b.sleep(ctx, b.resetPulse, rstName(slot))
	if err := errors.Join(werr, b.set(rst, rstName(slot), false)); err != nil {
		return fmt.Errorf("tp2: slot %d reset: %w", slot, err)
	}
	b.log.Info("tp2: reset", "slot", slot)
	return nil
}
