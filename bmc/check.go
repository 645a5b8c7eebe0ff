package bmc

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/turingpi-oss/bmcd/flasher/rpiboot"
	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/usb"
)

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

func size(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// AddWarnings adds problems found at start to Warnings, and logs them.
func (b *Board) AddWarnings(ws ...string) {
	for _, w := range ws {
		b.log.Warn("bmc: " + w)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.warnings = append(b.warnings, ws...)
}
