package bmc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/usb"
)

// DefaultROMTimeout bounds the wait for a boot ROM in an active check.
const DefaultROMTimeout = 10 * time.Second

// ROMWaiter is a USBBooter that can wait for the boot ROM of a slot's
// module to enumerate without booting it.
type ROMWaiter interface {
	WaitForROM(ctx context.Context, slot int) (usb.DeviceInfo, error)
}

var _ ROMWaiter = (*RPiBooter)(nil)

// WaitForROM implements ROMWaiter: it polls the bus until a Raspberry Pi
// boot ROM shows on the slot's port (any port if none is configured).
func (r *RPiBooter) WaitForROM(ctx context.Context, slot int) (usb.DeviceInfo, error) {
	port, ok := r.Ports[slot]
	if !ok && len(r.Ports) > 0 {
		return usb.DeviceInfo{}, fmt.Errorf("slot %d: no USB port configured: %w", slot, ErrNotFlashable)
	}
	clock := r.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	t := clock.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		devs, err := r.Bus.Devices(ctx)
		if err != nil {
			return usb.DeviceInfo{}, err
		}
		for _, d := range devs {
			if st, _ := rpiboot.Identify(d); st == rpiboot.StageROM && (port == "" || d.Port == port) {
				return d, nil
			}
		}
		select {
		case <-ctx.Done():
			return usb.DeviceInfo{}, ctx.Err()
		case <-t.Chan():
		}
	}
}

// active switches the slot on and off and boots it to its ROM.
func (c *Checker) active(ctx context.Context, slot int) []hal.Finding {
	name := fmt.Sprintf("slot %d active check", slot)
	b := c.Board
	if b == nil {
		return []hal.Finding{{Name: name, Status: hal.CheckFail, Detail: "the board is not open for control"}}
	}
	if slot == b.cfg.SelfSlot {
		return []hal.Finding{{Name: name, Status: hal.CheckFail, Detail: "bmcd runs on this slot; choose another"}}
	}
	// The USB route is shared: switching it would cut a flash off.
	if n := b.jobs.Active(); n > 0 {
		return []hal.Finding{{Name: name, Status: hal.CheckFail,
			Detail: fmt.Sprintf("%d flash job(s) queued or running; the check would switch the USB route under them: try again when they are done", n)}}
	}
	release, err := b.reserve(ctx, slot, "being checked")
	if err != nil {
		return []hal.Finding{{Name: name, Status: hal.CheckFail, Detail: err.Error()}}
	}
	defer release()
	if st := b.measure(ctx, slot); st.Power != hal.PowerOff {
		return []hal.Finding{{Name: name, Status: hal.CheckFail,
			Detail: fmt.Sprintf("slot is %s: the check never switches a running node; switch it off first, or choose an empty slot", st.Power)}}
	}
	var present *bool
	if ps, ok := b.hw.(hal.PresenceSensor); ok {
		if p, err := ps.Present(ctx, slot); err == nil {
			present = &p
		}
	}
	out := []hal.Finding{c.powerCycle(ctx, slot)}
	if r := out[0]; r.Status == hal.CheckFail {
		return out
	}
	return append(out, c.usbBoot(ctx, slot, present))
}

// powerCycle switches the slot on, reads it back, and off again.
func (c *Checker) powerCycle(ctx context.Context, slot int) hal.Finding {
	b := c.Board
	f := hal.Finding{Name: fmt.Sprintf("slot %d power on/off", slot)}
	err := b.hw.SetPower(ctx, slot, true)
	on := b.measure(ctx, slot).Power
	offErr := b.hw.SetPower(ctx, slot, false)
	off := b.measure(ctx, slot).Power
	switch {
	case err != nil || offErr != nil:
		f.Status, f.Detail = hal.CheckFail, fmt.Sprintf("on: %v; off: %v; now %s", err, offErr, off)
	case off != hal.PowerOff:
		f.Status, f.Detail = hal.CheckFail, fmt.Sprintf("switched off but measures %s", off)
	case on != hal.PowerOn:
		f.Status, f.Detail = hal.CheckWarn, fmt.Sprintf("switched on but measured %s (an empty slot reads off on a Turing Pi 1); back off", on)
	default:
		f.Status, f.Detail = hal.CheckOK, "switched on (measured on) and off (measured off)"
	}
	return f
}

// usbBoot boots the slot from USB until its boot ROM enumerates, then
// puts the slot back whatever happened.
func (c *Checker) usbBoot(ctx context.Context, slot int, present *bool) hal.Finding {
	b := c.Board
	f := hal.Finding{Name: fmt.Sprintf("slot %d usb boot", slot)}
	strap, ok := b.hw.(hal.USBBootStrapper)
	waiter, wok := b.cfg.Flash.Booter.(ROMWaiter)
	switch {
	case !ok || !wok:
		f.Status, f.Detail = hal.CheckSkip, "the board cannot boot a slot from USB"
		return f
	case present != nil && !*present:
		f.Status, f.Detail = hal.CheckSkip, "no module in the slot"
		return f
	case b.cfg.Flash.Slots != nil && !slices.Contains(b.cfg.Flash.Slots, slot):
		f.Status, f.Detail = hal.CheckSkip, fmt.Sprintf("the controller's USB does not reach this slot (flashable: %v)", b.cfg.Flash.Slots)
		return f
	}
	d, routed, err := c.bootToROM(ctx, slot, strap, waiter)
	if perr := b.putBack(slot, false, routed); perr != nil {
		f.Status, f.Detail = hal.CheckFail, fmt.Sprintf("putting the slot back (off, strap released, USB to the connector): %v", perr)
		return f
	}
	switch {
	case err == nil:
		_, chip := rpiboot.Identify(d)
		f.Status, f.Detail = hal.CheckOK, fmt.Sprintf("%s boot ROM enumerated: %s; slot put back", chip.Module(), d)
	case present == nil && errors.Is(err, context.DeadlineExceeded):
		f.Status, f.Detail = hal.CheckWarn, fmt.Sprintf("%v; expected if the slot is empty; with a module in it, the strap, the USB route or the module is at fault; slot put back", err)
	default:
		f.Status, f.Detail = hal.CheckFail, fmt.Sprintf("%v; slot put back", err)
	}
	return f
}

func (c *Checker) bootToROM(ctx context.Context, slot int, strap hal.USBBootStrapper, waiter ROMWaiter) (d usb.DeviceInfo, routed bool, err error) {
	b := c.Board
	// Counted among the route's users like a flash job, so a flash on
	// the v2.5 hub keeps its uplink when the check puts its slot back.
	if err := b.route.toBMC(ctx, b.hw, slot); err != nil {
		return d, false, fmt.Errorf("route usb to the controller: %w", err)
	}
	if err := strap.SetUSBBoot(ctx, slot, true); err != nil {
		return d, true, fmt.Errorf("assert usb boot strap: %w", err)
	}
	if err := b.hw.SetPower(ctx, slot, true); err != nil {
		return d, true, err // names the slot and power on
	}
	timeout := c.ROMTimeout
	if timeout <= 0 {
		timeout = DefaultROMTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d, err = waiter.WaitForROM(wctx, slot)
	if err != nil {
		return d, true, fmt.Errorf("no boot ROM enumerated within %s: %w", timeout, err)
	}
	return d, true, nil
}
