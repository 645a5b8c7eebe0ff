package sim

import (
	"errors"
	"fmt"
	"os"

	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

// USBTopology is how the slots' USB reaches the controller.
type USBTopology int

// USB topologies (shared/reference/turingpi.md §3.3).
const (
	// USBMux is the Turing Pi 2 v2.4: a multiplexer connects one slot at
	// a time, the one last configured, to the controller or to the
	// board's connector.
	USBMux USBTopology = iota
	// USBHub is the Turing Pi 2 v2.5: every slot sits on a USB hub port
	// all the time; the hub's uplink goes to the controller or to the
	// connector, for all slots at once. No slot can be USB host.
	USBHub
)

// String returns "mux" or "hub".
func (t USBTopology) String() string {
	if t == USBHub {
		return "hub"
	}
	return "mux"
}

// ParseUSBTopology parses "mux" or "hub".
func ParseUSBTopology(s string) (USBTopology, error) {
	switch s {
	case "mux":
		return USBMux, nil
	case "hub":
		return USBHub, nil
	}
	return 0, fmt.Errorf("sim: usb topology %q: want mux or hub", s)
}

// USB puts the slots' compute modules on a simulated USB bus.
type USB struct {
	Bus      *usbsim.Bus
	Topology USBTopology
	// Module is the compute module in every slot that is not absent.
	Module usbsim.Profile
	// Disk is the eMMC of a slot's module. New creates its file (mode
	// 0600, like bmcd's other state) when missing.
	Disk func(slot int) usbsim.Disk
}

// Port is the USB port of a slot's module on the simulated bus: port N of
// the hub behind the controller's root port.
func Port(slot int) string { return fmt.Sprintf("1-1.%d", slot) }

// createDisks creates the eMMC files that do not exist yet, with their
// size, private to the user running bmcd; older ones are made private.
func (u *USB) createDisks(slots []slotState) error {
	for i, s := range slots {
		if s.Absent {
			continue
		}
		d := u.Disk(i + 1)
		f, err := os.OpenFile(d.Path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			if err := os.Chmod(d.Path, 0o600); err != nil {
				return fmt.Errorf("sim: eMMC of slot %d: %w", i+1, err)
			}
			continue
		}
		if err == nil && d.Size > 0 {
			err = f.Truncate(d.Size)
		}
		if err == nil {
			err = f.Close()
		} else if f != nil {
			f.Close()
		}
		if err != nil {
			return fmt.Errorf("sim: create eMMC of slot %d: %w", i+1, err)
		}
	}
	return nil
}

// linkedLocked says whether slot's USB reaches the controller; b.mu
// must be held.
func (b *Board) linkedLocked(slot int) bool {
	if b.route != hal.RouteBMC {
		return false
	}
	if b.usbBus.Topology == USBHub {
		return true
	}
	return b.muxSlot == slot && b.role == hal.USBDevice
}

// syncBusLocked plugs in the modules that are in USB boot mode and whose
// USB reaches the controller, and unplugs the others; b.mu must be held.
// A module in USB boot mode is one that was powered up with its strap
// asserted: the strap is sampled at power-up only, so releasing it later
// changes nothing (the vendor firmware releases it 1 s after power-on).
// A module that comes back on the bus starts over in its boot ROM.
func (b *Board) syncBusLocked() {
	u := b.usbBus
	if u == nil {
		return
	}
	for i := range b.slots {
		slot, s := i+1, &b.slots[i]
		want := s.Power && !s.Absent && s.bootedUSB && b.linkedLocked(slot)
		if want == s.onBus {
			continue
		}
		s.onBus = want
		if want {
			b.modules[slot] = u.Bus.Attach(Port(slot), u.Module, u.Disk(slot))
			b.log.Debug("sim: module in USB boot mode on the bus", "slot", slot, "port", Port(slot))
			continue
		}
		u.Bus.Detach(Port(slot))
		delete(b.modules, slot)
		b.log.Debug("sim: module left the USB bus", "slot", slot)
	}
}

// USBModule returns the simulated module of slot while it is on the USB
// bus, or nil.
func (b *Board) USBModule(slot int) *usbsim.Module {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.modules[slot]
}

// InstalledModule names the compute module in slot ("CM4"), or "" when
// the slot is empty or the board has no simulated modules.
func (b *Board) InstalledModule(slot int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.usbBus == nil || slot < 1 || slot > len(b.slots) || b.slots[slot-1].Absent {
		return ""
	}
	return b.usbBus.Module.Name
}

var _ hal.USBTopology = (*Board)(nil)

// USBTopology implements hal.USBTopology: on the hub every slot has its
// own port and flashes at once; the simulated hub is not a device on the
// bus, so a check has none to look for.
func (b *Board) USBTopology() hal.USBLayout {
	return hal.USBLayout{ParallelFlash: b.usbBus != nil && b.usbBus.Topology == USBHub}
}
