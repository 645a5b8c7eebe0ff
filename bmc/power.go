package bmc

import (
	"context"
	"errors"
	"fmt"

	"github.com/turingpi-oss/bmcd/hal"
)

// PowerOpts modifies a power action.
type PowerOpts struct {
	// Force allows switching off (or cycling, or resetting) the slot bmcd
	// runs on.
	Force bool
}

// Power runs action on slot and returns the slot as measured afterwards.
// It waits up to Config.BusyTimeout for another operation on the same
// slot to finish, then fails with ErrBusy. Errors name the action and
// the slot once ("reset slot 3: the slot is off"): a hardware error
// names them itself, so only an action it does not know is added
// ("power cycle: tp2: slot 3 power off: …").
func (b *Board) Power(ctx context.Context, slot int, action Action, opts PowerOpts) (SlotStatus, error) {
	if err := b.checkSlot(slot); err != nil {
		return SlotStatus{}, err
	}
	if _, err := ParseAction(string(action)); err != nil {
		return SlotStatus{}, err
	}
	op := fmt.Sprintf("%s slot %d", action.verb(), slot)
	if action != On && slot == b.cfg.SelfSlot && !opts.Force {
		return SlotStatus{}, fmt.Errorf("%s: %w", op, ErrSelfSlot)
	}
	release, err := b.acquire(ctx, slot)
	if err != nil {
		return SlotStatus{}, fmt.Errorf("%s: %w", op, err)
	}
	err = b.runLocked(ctx, slot, action)
	release()
	st := b.measure(context.WithoutCancel(ctx), slot)
	if err != nil {
		b.log.Warn("bmc: power action not done", "slot", slot, "action", action, "err", err)
		return st, err
	}
	b.log.Info("bmc: power", "slot", slot, "action", action, "power", st.Power)
	return st, nil
}

// acquire takes the slot's lock, waiting at most BusyTimeout. A slot held
// by a long operation (a flash job) fails at once.
func (b *Board) acquire(ctx context.Context, slot int) (release func(), err error) {
	b.mu.Lock()
	holder := b.holders[slot-1]
	b.mu.Unlock()
	if holder != "" {
		return nil, fmt.Errorf("%w: %s", ErrBusy, holder)
	}
	lock := b.locks[slot-1]
	select {
	case lock <- struct{}{}:
		return func() { <-lock }, nil
	default:
	}
	timeout := b.clock.NewTimer(b.cfg.BusyTimeout)
	defer timeout.Stop()
	select {
	case lock <- struct{}{}:
		return func() { <-lock }, nil
	case <-timeout.Chan():
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// reserve holds the slot for a long operation described by holder (e.g.
// "flash job 7"); power requests fail with ErrBusy until release.
func (b *Board) reserve(ctx context.Context, slot int, holder string) (release func(), err error) {
	unlock, err := b.acquire(ctx, slot)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.holders[slot-1] = holder
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		b.holders[slot-1] = ""
		b.mu.Unlock()
		unlock()
	}, nil
}

// runLocked performs the action; the caller holds the slot's lock. Its
// errors name the action and the slot.
func (b *Board) runLocked(ctx context.Context, slot int, action Action) error {
	var err error
	switch action {
	case On, Off:
		err = b.hw.SetPower(ctx, slot, action == On) // names the slot and on or off
	case Reset:
		err = b.reset(ctx, slot)
	case Cycle:
		if err = b.cycle(ctx, slot); err != nil {
			err = fmt.Errorf("%s: %w", action.verb(), err)
		}
	}
	if err != nil {
		return err
	}
	requested := "on"
	if action == Off {
		requested = "off"
	}
	b.setRequested(slot, requested)
	return nil
}

// reset pulses the slot's reset line where the board has one and power
// cycles the slot otherwise. A slot that is off has nothing to reset.
func (b *Board) reset(ctx context.Context, slot int) error {
	power, err := b.hw.PowerState(ctx, slot)
	if err != nil {
		return fmt.Errorf("%s: %w", Reset.verb(), err)
	}
	if power != hal.PowerOn {
		return fmt.Errorf("%s slot %d: %w", Reset.verb(), slot, ErrSlotOff)
	}
	if r, ok := b.hw.(hal.Resetter); ok {
		err := r.Reset(ctx, slot) // names the reset and the slot
		if !errors.Is(err, hal.ErrNotSupported) {
			return err
		}
	}
	if err := b.cycle(ctx, slot); err != nil {
		return fmt.Errorf("%s: %w", Reset.verb(), err)
	}
	return nil
}

// cycle switches the slot off and on again. Hardware errors name the
// slot; the caller names the action.
func (b *Board) cycle(ctx context.Context, slot int) error {
	if err := b.hw.SetPower(ctx, slot, false); err != nil {
		return err
	}
	b.measure(ctx, slot) // publish the off half of the cycle
	if err := b.sleep(ctx, b.cfg.CycleDelay); err != nil {
		return fmt.Errorf("slot %d left off: %w", slot, err)
	}
	return b.hw.SetPower(ctx, slot, true)
}

// PowerAll runs action on every slot and returns them all as measured
// afterwards, with the errors of the slots that failed joined on one
// line. Slots are
// switched on one after another, StaggerDelay apart, to limit inrush; off
// runs on all slots at once. Without force the slot bmcd runs on is left
// alone by off, cycle and reset. Reset skips slots that are off.
func (b *Board) PowerAll(ctx context.Context, action Action, opts PowerOpts) ([]SlotStatus, error) {
	if _, err := ParseAction(string(action)); err != nil {
		return nil, err
	}
	var slots []int
	for i := range b.locks {
		slot := i + 1
		if action != On && slot == b.cfg.SelfSlot && !opts.Force {
			b.log.Info("bmc: power all: leaving the slot bmcd runs on alone", "slot", slot, "action", action)
			continue
		}
		slots = append(slots, slot)
	}
	var err error
	switch action {
	case On:
		err = b.staggerOn(ctx, slots, On)
	case Off:
		err = b.parallel(ctx, slots, Off, opts)
	case Cycle:
		if err = b.parallel(ctx, slots, Off, opts); err == nil {
			if err = b.sleep(ctx, b.cfg.CycleDelay); err == nil {
				err = b.staggerOn(ctx, slots, On)
			}
		}
	case Reset:
		var on []int
		for _, slot := range slots {
			if p, _ := b.hw.PowerState(ctx, slot); p == hal.PowerOn {
				on = append(on, slot)
			}
		}
		err = b.staggerOn(ctx, on, Reset)
	}
	return b.Slots(context.WithoutCancel(ctx)), err
}

// staggerOn runs action (on or reset: both draw inrush current) on each
// slot in turn. Slots already on are skipped by "on" without a pause.
func (b *Board) staggerOn(ctx context.Context, slots []int, action Action) error {
	var errs []error
	first := true
	for _, slot := range slots {
		if action == On {
			if p, _ := b.hw.PowerState(ctx, slot); p == hal.PowerOn {
				b.setRequested(slot, "on")
				continue
			}
		}
		if !first {
			if err := b.sleep(ctx, b.cfg.StaggerDelay); err != nil {
				return joinErrors(append(errs, err)...)
			}
		}
		first = false
		if _, err := b.Power(ctx, slot, action, PowerOpts{Force: true}); err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrors(errs...)
}

func (b *Board) parallel(ctx context.Context, slots []int, action Action, opts PowerOpts) error {
	errs := make([]error, len(slots))
	done := make(chan struct{})
	for i, slot := range slots {
		go func() {
			defer func() { done <- struct{}{} }()
			_, errs[i] = b.Power(ctx, slot, action, opts)
		}()
	}
	for range slots {
		<-done
	}
	return joinErrors(errs...)
}

// RestorePower applies each slot's restore policy at start, to the slots
// measured off only: a running node is never switched off or on again by
// a restart of bmcd. Slots to switch on are staggered.
func (b *Board) RestorePower(ctx context.Context) error {
	var toStart []SlotStatus
	for _, st := range b.Slots(ctx) {
		want := st.Policy == AlwaysOn || (st.Policy == LastState && st.Requested == "on")
		switch {
		case st.Power == hal.PowerUnknown:
			b.log.Warn("bmc: restore: power unknown, leaving slot alone", "slot", st.Slot)
		case st.Power == hal.PowerOn:
			b.log.Info("bmc: restore: slot is on, leaving it running", "slot", st.Slot, "policy", st.Policy)
		case want:
			toStart = append(toStart, st)
		}
	}
	var errs []error
	for i, st := range toStart {
		if i > 0 {
			if err := b.sleep(ctx, b.cfg.StaggerDelay); err != nil {
				return err
			}
		}
		b.log.Info("bmc: restore: switching slot on", "slot", st.Slot, "policy", st.Policy)
		if err := b.restoreOne(ctx, st.Slot); err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrors(errs...)
}

// restoreOne switches a slot on without recording a user request.
func (b *Board) restoreOne(ctx context.Context, slot int) error {
	release, err := b.acquire(ctx, slot)
	if err != nil {
		return fmt.Errorf("restore slot %d: %w", slot, err)
	}
	err = b.hw.SetPower(ctx, slot, true)
	release()
	b.measure(ctx, slot)
	if err != nil {
		return fmt.Errorf("restore: %w", err) // the error names the slot
	}
	return nil
}

// SavePowerDefaults makes the current power state the one the board
// applies by itself at power-up, where the board can (Turing Pi 1).
func (b *Board) SavePowerDefaults(ctx context.Context) error {
	s, ok := b.hw.(hal.PowerDefaultsSaver)
	if !ok {
		return fmt.Errorf("save power defaults: %w", hal.ErrNotSupported)
	}
	// A board that powers up with bmcd's own slot off cannot be reached
	// again without someone at the board.
	if self := b.cfg.SelfSlot; self != 0 {
		if p, err := b.hw.PowerState(ctx, self); err != nil || p != hal.PowerOn {
			return fmt.Errorf("save power defaults: slot %d (bmcd itself) is not on: %w", self, ErrSelfSlot)
		}
	}
	// The board's error says it was saving power defaults.
	return s.SavePowerDefaults(ctx)
}
