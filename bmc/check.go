package bmc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/usb"
)

// FirmwareHint says where the rpiboot firmware goes on a Turing Pi 2,
// whose v2.4 controller cannot hold it in its writable overlay.
const FirmwareHint = "put usbboot's firmware (mass-storage-gadget64/ and msd/, as the rpiboot package installs them in /usr/share/rpiboot) " +
	"on the controller's SD card, e.g. /mnt/sdcard/rpiboot, and set flash.firmware_dir to that directory: " +
	"the CM4's boot.img (about 31.5 MB) does not fit the v2.4 controller's 29 MB writable overlay"

// DefaultROMTimeout bounds the wait for a boot ROM in an active check.
const DefaultROMTimeout = 10 * time.Second

// Checker looks at a board the way a board owner's first run should: what
// profile fits, every line, supply and chip the board has, the USB bus,
// the consoles, the rpiboot firmware and the free space, without
// switching anything; and, for one slot chosen by the owner, power and
// USB boot. Fields left zero are skipped.
type Checker struct {
	// Profile is how the board profile was picked (hal.ProfileFinding).
	Profile hal.Finding
	// Probe reads the board's hardware without changing it.
	Probe hal.Prober
	// USB is the bus the modules enumerate on; USBHub, if set, is a hub
	// that must be on it (the v2.5's Genesys Logic 05e3:0608).
	USB    usb.Bus
	USBHub *[2]uint16
	// Consoles are the slots' UARTs.
	Consoles []hal.ConsolePort
	// Firmware is checked for each of FirmwareChips with Payload; the
	// first chip's files are required (fail), the others' only warn.
	Firmware      *rpiboot.Firmware
	Payload       rpiboot.Payload
	FirmwareChips []rpiboot.Chip
	// StateDir must exist and have room.
	StateDir string
	// Board switches the slot of an active check; nil refuses one.
	Board *Board
	// ROMTimeout bounds the wait for the boot ROM; default DefaultROMTimeout.
	ROMTimeout time.Duration
}

// Run runs the check. With active 0 nothing is switched. With a slot it
// also switches that slot on and off and boots it from USB as far as its
// boot ROM enumerating, then puts it back (off, strap released, USB on
// the connector); a slot that is on is refused, as the check never
// switches a running node. A slot the board does not have is an error.
func (c *Checker) Run(ctx context.Context, active int) ([]hal.Finding, error) {
	if active != 0 && c.Board != nil {
		if err := c.Board.checkSlot(active); err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
	}
	var out []hal.Finding
	if c.Profile.Name != "" {
		out = append(out, c.Profile)
	}
	if c.Probe != nil {
		out = append(out, c.Probe.Probe(ctx)...)
	}
	if c.USB != nil {
		out = append(out, c.usbFinding(ctx))
	}
	for _, p := range c.Consoles {
		out = append(out, consoleFinding(p))
	}
	if c.Firmware != nil {
		for i, chip := range c.FirmwareChips {
			out = append(out, c.firmwareFinding(chip, i == 0))
		}
	}
	if c.StateDir != "" {
		out = append(out, spaceFinding("state dir", c.StateDir, 1<<20))
	}
	if active != 0 {
		out = append(out, c.active(ctx, active)...)
	}
	return out, nil
}

func (c *Checker) usbFinding(ctx context.Context) hal.Finding {
	f := hal.Finding{Name: "usb bus"}
	devs, err := c.USB.Devices(ctx)
	if err != nil {
		f.Status, f.Detail = hal.CheckFail, err.Error()
		return f
	}
	var ds []string
	hub := false
	for _, d := range devs {
		ds = append(ds, fmt.Sprintf("%04x:%04x at %s", d.VendorID, d.ProductID, d.Port))
		hub = hub || (c.USBHub != nil && d.VendorID == c.USBHub[0] && d.ProductID == c.USBHub[1])
	}
	f.Status, f.Detail = hal.CheckOK, fmt.Sprintf("%d devices", len(devs))
	if len(ds) > 0 {
		f.Detail += ": " + strings.Join(ds, ", ")
	}
	if c.USBHub != nil && !hub {
		f.Status = hal.CheckFail
		f.Detail = fmt.Sprintf("the nodes' hub %04x:%04x is not on the bus; %s", c.USBHub[0], c.USBHub[1], f.Detail)
	}
	return f
}

func consoleFinding(p hal.ConsolePort) hal.Finding {
	f := hal.Finding{Name: fmt.Sprintf("slot %d console %s", p.Slot, p.Device)}
	st, err := os.Stat(p.Device)
	switch {
	case err != nil:
		f.Status, f.Detail = hal.CheckFail, err.Error()
	case st.Mode()&os.ModeCharDevice == 0:
		f.Status, f.Detail = hal.CheckFail, "not a character device: "+st.Mode().String()
	default:
		f.Status, f.Detail = hal.CheckOK, fmt.Sprintf("character device, %d baud", p.Baud)
	}
	return f
}

func (c *Checker) firmwareFinding(chip rpiboot.Chip, required bool) hal.Finding {
	f := hal.Finding{Name: fmt.Sprintf("rpiboot firmware for the %s", chip.Module())}
	files, err := c.Firmware.Files(chip, c.Payload)
	if err != nil {
		f.Status, f.Detail = hal.CheckSkip, err.Error()
		return f
	}
	var have, missing, sources []string
	var memsys, memsysBytes int64
	optional := 0
	for _, ff := range files {
		switch {
		case ff.Err == nil && strings.HasPrefix(ff.Name, "memsys"):
			memsys, memsysBytes = memsys+1, memsysBytes+ff.Size
		case ff.Err == nil:
			have = append(have, fmt.Sprintf("%s %d B", ff.Name, ff.Size))
		case ff.Required:
			missing = append(missing, ff.Name)
		default:
			optional++
		}
		// Where each file came from: a directory, or the archive and the
		// chip's directory in it.
		if src := path.Dir(ff.Source); ff.Err == nil && !slices.Contains(sources, src) {
			sources = append(sources, src)
		}
	}
	if memsys > 0 {
		have = append(have, fmt.Sprintf("memsys*.bin %d files %d B", memsys, memsysBytes))
	}
	f.Detail = fmt.Sprintf("in %s (%s): %s", c.Firmware.Dir(), strings.Join(sources, ", "), strings.Join(have, ", "))
	if len(have) == 0 {
		f.Detail = "in " + c.Firmware.Dir() + ": none"
	}
	if optional > 0 {
		missing = append(missing, fmt.Sprintf("%d optional files", optional))
	}
	f.Status = hal.CheckOK
	switch {
	case len(missing) == 0:
	case !required:
		// The first chip's finding says where the firmware goes.
		f.Status, f.Detail = hal.CheckWarn, fmt.Sprintf("missing %s (needed only to flash a %s); found %s", strings.Join(missing, ", "), chip.Module(), f.Detail)
	default:
		f.Status = hal.CheckWarn
		if rpiboot.Missing(files) != nil {
			f.Status = hal.CheckFail
		}
		f.Detail = fmt.Sprintf("missing %s; found %s; %s%s", strings.Join(missing, ", "), f.Detail, FirmwareHint, spaceNote(c.Firmware.Dir()))
	}
	return f
}

// spaceFinding reports the free space of the file system holding dir;
// less than min bytes warns.
func spaceFinding(name, dir string, min uint64) hal.Finding {
	f := hal.Finding{Name: name + " " + dir}
	free, total, err := diskSpace(dir)
	switch {
	case err != nil:
		f.Status, f.Detail = hal.CheckFail, err.Error()
	case free < min:
		f.Status, f.Detail = hal.CheckWarn, fmt.Sprintf("%s free of %s: too little for the state files", size(free), size(total))
	default:
		f.Status, f.Detail = hal.CheckOK, fmt.Sprintf("%s free of %s", size(free), size(total))
	}
	return f
}

// spaceNote says how much room the file system of dir, or of its nearest
// existing parent, has: whether the firmware would fit there.
func spaceNote(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if free, _, err := diskSpace(d); err == nil {
			return fmt.Sprintf(" (%s has %s free)", d, size(free))
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

func size(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// FirmwareWarnings checks the firmware a board flashes its modules with,
// for GET /api/v1/board at start: nothing if chip's required files are
// all there, else what is missing and where to put it.
func FirmwareWarnings(fw *rpiboot.Firmware, payload rpiboot.Payload, chip rpiboot.Chip) []string {
	files, err := fw.Files(chip, payload)
	if err != nil {
		return []string{fmt.Sprintf("rpiboot firmware for the %s: %v", chip.Module(), err)}
	}
	var missing []string
	for _, f := range files {
		if f.Required && f.Err != nil {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("flashing a %s needs rpiboot firmware missing from %s (%s); %s%s",
		chip.Module(), fw.Dir(), strings.Join(missing, ", "), FirmwareHint, spaceNote(fw.Dir()))}
}

// AddWarnings adds problems found at start to Warnings, and logs them.
func (b *Board) AddWarnings(ws ...string) {
	for _, w := range ws {
		b.log.Warn("bmc: " + w)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.warnings = append(b.warnings, ws...)
}

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
	t := time.NewTicker(100 * time.Millisecond)
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
		case <-t.C:
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
	if n := b.activeFlashes(); n > 0 {
		return []hal.Finding{{Name: name, Status: hal.CheckFail,
			Detail: fmt.Sprintf("%d flash job(s) queued or running; the check would switch the USB route under them: try again when they are done", n)}}
	}
	release, err := b.reserve(ctx, slot, fmt.Sprintf("slot %d is being checked", slot))
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

// activeFlashes counts the flash jobs not yet final.
func (b *Board) activeFlashes() int {
	b.flash.mu.Lock()
	defer b.flash.mu.Unlock()
	n := 0
	for _, j := range b.flash.jobs {
		if !j.State.Final() {
			n++
		}
	}
	return n
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
	waiter, wok := b.flash.cfg.Booter.(ROMWaiter)
	switch {
	case !ok || !wok:
		f.Status, f.Detail = hal.CheckSkip, "the board cannot boot a slot from USB"
		return f
	case present != nil && !*present:
		f.Status, f.Detail = hal.CheckSkip, "no module in the slot"
		return f
	case b.flash.cfg.Slots != nil && !slices.Contains(b.flash.cfg.Slots, slot):
		f.Status, f.Detail = hal.CheckSkip, fmt.Sprintf("the controller's USB does not reach this slot (flashable: %v)", b.flash.cfg.Slots)
		return f
	}
	d, err := c.bootToROM(ctx, slot, strap, waiter)
	if perr := b.putBack(slot, false); perr != nil {
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

func (c *Checker) bootToROM(ctx context.Context, slot int, strap hal.USBBootStrapper, waiter ROMWaiter) (usb.DeviceInfo, error) {
	b := c.Board
	if r, ok := b.hw.(hal.USBRouter); ok {
		if err := r.SetUSB(ctx, hal.USBConfig{Slot: slot, Role: hal.USBDevice, Route: hal.RouteBMC}); err != nil {
			return usb.DeviceInfo{}, fmt.Errorf("route usb to the controller: %w", err)
		}
	}
	if err := strap.SetUSBBoot(ctx, slot, true); err != nil {
		return usb.DeviceInfo{}, fmt.Errorf("assert usb boot strap: %w", err)
	}
	if err := b.hw.SetPower(ctx, slot, true); err != nil {
		return usb.DeviceInfo{}, fmt.Errorf("power on: %w", err)
	}
	timeout := c.ROMTimeout
	if timeout <= 0 {
		timeout = DefaultROMTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d, err := waiter.WaitForROM(wctx, slot)
	if err != nil {
		return d, fmt.Errorf("no boot ROM enumerated within %s: %w", timeout, err)
	}
	return d, nil
}
