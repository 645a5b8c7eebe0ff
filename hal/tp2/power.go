package tp2

import (
	"context"
	"errors"
	"fmt"

	"github.com/turingpi-oss/bmcd/hal"
)

// SetPower implements hal.PowerController with the sequence of the Rust
// bmcd's power_controller.rs (the v1 C firmware's node_power without its
// reset step, which the vendor dropped in commit 71c0126 because the
// nodeN-rst lines are not connected on the board):
//
//	on:  ATX PSU on (if no slot was on) → PSUDelay → nodeN-power on →
//	     SettleDelay → nodeN-en asserted
//	off: nodeN-en deasserted → nodeN-power off → ATX PSU off (if no slot
//	     is on any more)
//
// Power off has no waits: each step only takes power away. Power on of a
// slot that PowerState reads on writes nothing.
//
// If a step of power on fails, or ctx ends during a wait, the whole off
// sequence runs (best effort, whatever ctx says) so that the slot ends off
// and the PSU off if no other slot is on; the error names the step and the
// line. Power off runs every step even if one fails, since cutting the
// power is the point.
func (b *board) SetPower(ctx context.Context, slot int, on bool) error {
	op := "power off"
	if on {
		op = "power on"
	}
	if err := b.checkSlot(op, slot); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tp2: slot %d %s: %w", slot, op, err)
	}
	b.slotMu[slot-1].Lock()
	defer b.slotMu[slot-1].Unlock()
	if on {
		// A slot already on is left alone: driving its lines again could
		// only glitch them (after a restart of bmcd they are not yet
		// requested).
		state, err := b.powerState(ctx, slot)
		if err != nil {
			return fmt.Errorf("tp2: slot %d %s: %w", slot, op, err)
		}
		if state == hal.PowerOn {
			b.log.Info("tp2: power on: already on, nothing written", "slot", slot)
			return nil
		}
	}
	var err error
	if on {
		err = b.powerOn(ctx, slot)
	} else {
		err = b.powerOff(ctx, slot)
	}
	if err != nil {
		return fmt.Errorf("tp2: slot %d %s: %w", slot, op, err)
	}
	b.log.Info("tp2: "+op, "slot", slot)
	return nil
}

func (b *board) powerOn(ctx context.Context, slot int) error {
	err := b.powerOnSteps(ctx, slot)
	if err == nil {
		return nil
	}
	// The undo must run even when the failure is ctx ending.
	if uerr := b.powerOff(context.WithoutCancel(ctx), slot); uerr != nil {
		b.log.Warn("tp2: power on failed and switching the slot off again failed too",
			"slot", slot, "err", err, "undo_err", uerr)
		return errors.Join(err, fmt.Errorf("undo: %w", uerr))
	}
	return err
}

func (b *board) powerOnSteps(ctx context.Context, slot int) error {
	i := slot - 1
	if err := b.supplyOn(ctx, slot); err != nil {
		return err
	}
	if err := b.sleep(ctx, b.settle, powerName(slot)); err != nil {
		return err
	}
	return b.set(b.lines.En[i], enName(slot), true)
}

// powerOff runs every step of the off sequence and joins the failures.
func (b *board) powerOff(ctx context.Context, slot int) error {
	i := slot - 1
	var errs []error
	errs = append(errs, b.set(b.lines.En[i], enName(slot), false))
	errs = append(errs, b.supplyOff(ctx, slot))
	return errors.Join(errs...)
}

// supplyOn switches the ATX PSU on if no slot regulator is on, then the
// slot's regulator. A regulator that cannot be read counts as off here:
// switching the PSU on again is harmless.
func (b *board) supplyOn(ctx context.Context, slot int) error {
	b.supplyMu.Lock()
	defer b.supplyMu.Unlock()
	if b.lines.PSU != nil {
		if on, _ := b.anyOn(ctx); !on {
			if err := b.lines.PSU.SetEnabled(ctx, true); err != nil {
				return fmt.Errorf("switch %s on: %w", psuName, err)
			}
			if err := b.sleep(ctx, b.psuDelay, psuName); err != nil {
				return err
			}
		}
	}
	if err := b.lines.Power[slot-1].SetEnabled(ctx, true); err != nil {
		return fmt.Errorf("switch %s on: %w", powerName(slot), err)
	}
	return nil
}

// supplyOff switches the slot's regulator off, then the ATX PSU if every
// slot regulator reads off. If one cannot be read the PSU stays on, which
// is safe, and the next power off decides again.
func (b *board) supplyOff(ctx context.Context, slot int) error {
	b.supplyMu.Lock()
	defer b.supplyMu.Unlock()
	var errs []error
	if err := b.lines.Power[slot-1].SetEnabled(ctx, false); err != nil {
		errs = append(errs, fmt.Errorf("switch %s off: %w", powerName(slot), err))
	}
	if b.lines.PSU == nil {
		return errors.Join(errs...)
	}
	on, err := b.anyOn(ctx)
	switch {
	case err != nil:
		b.log.Warn("tp2: leaving the ATX PSU on: cannot tell whether a slot is on", "err", err)
	case !on:
		if err := b.lines.PSU.SetEnabled(ctx, false); err != nil {
			errs = append(errs, fmt.Errorf("switch %s off: %w", psuName, err))
		}
	}
	return errors.Join(errs...)
}

// anyOn reads every slot regulator back: on is true if one reads enabled;
// err joins the regulators that could not be read.
func (b *board) anyOn(ctx context.Context) (on bool, err error) {
	var errs []error
	for i, r := range b.lines.Power {
		e, rerr := r.Enabled(ctx)
		if rerr != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", powerName(i+1), rerr))
			continue
		}
		on = on || e
	}
	return on, errors.Join(errs...)
}
