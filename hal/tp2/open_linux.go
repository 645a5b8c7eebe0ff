//go:build linux

package tp2

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3/gpioioctl"

	"github.com/turingpi-oss/bmcd/hal"
)

// platformDevices holds the kernel's regulator-output consumers.
const platformDevices = "/sys/bus/platform/devices"

// Open resolves the lines of a Turing Pi 2 of revision rev (see revision)
// on the running kernel and returns a *BoardV24 or a *BoardV25.
//
// The caller must have run periph's host.Init() (periph.io/x/host/v3)
// first: it loads gpioioctl, which fills gpioioctl.Chips with every chip's
// named lines. Lines are requested on their first write, as outputs
// already driving that level (see reqLine), and released when the process
// exits; the kernel keeps their levels, so nodes keep running across a
// restart of bmcd. Open then drives the USB lines to their defaults
// (SetUSBDefaults); it touches no slot's power or enable, and SetPower
// leaves a slot that is already on alone.
//
// Where the lines come from (device trees sun8i-t113s-turing-pi2-v2.4.dts
// and -v2.5.dts of turing-machines/BMC-Firmware):
//   - nodeN-en, -rpiboot, -usbotg-dev: the kernel's named lines of
//     the "turing,pi2-nodes" gpio-aggregator, by name. They are logical
//     (Lines.ActiveLow false): the aggregator applies GPIO_ACTIVE_LOW.
//   - USB mux PG0..PG3, USB_SWITCH PG5 (v2.4); USB_SWITCH PG2 and node 1's
//     USB output/source switches PG0/PG1 (v2.5, the Rust bmcd's
//     gpio_definitions.rs): raw lines of the Allwinner pin controller,
//     offset bank*32+pin.
//   - Slot regulators: the nodeN-power regulator-output consumers.
//   - ATX PSU: kernel-managed as the slot regulators' supply (nil), unless
//     on a v2.4 PD3 is free, then driven here.
//   - USB-A VBUS (v2.4): the usb-port-power consumer, else raw PG4.
//
// Every GPIO line is a reqLine wrapped in a drivenLine, so that reading
// it back never reconfigures it; see drivenLine.
//
// Open cannot be tested off the board: this file only compiles here.
func Open(rev string, opts *Opts) (hal.Board, error) {
	v24, err := revision(rev)
	if err != nil {
		return nil, err
	}
	soc, err := socChip()
	if err != nil {
		return nil, err
	}
	var errs []error
	named := func(name string) gpio.PinOut {
		for _, c := range gpioioctl.Chips {
			if l := c.ByName(name); l != nil {
				return kernelLine(c, l)
			}
		}
		errs = append(errs, fmt.Errorf("line %s not found (device tree not for this board, or host.Init not run)", name))
		return nil
	}
	raw := func(pin string) gpio.PinOut {
		l, err := socLine(soc, pin)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if c := l.Consumer(); c != "" {
			errs = append(errs, fmt.Errorf("line %s is held by %q", pin, c))
			return nil
		}
		return kernelLine(soc, l)
	}
	regulator := func(name string) Regulator {
		path := filepath.Join(platformDevices, name, "state")
		if _, err := os.Stat(path); err != nil {
			errs = append(errs, fmt.Errorf("regulator %s: %w", name, err))
			return nil
		}
		return SysfsRegulator{Path: path}
	}

	var lines Lines
	for i := range Slots {
		s := i + 1
		lines.En[i] = named(enName(s))
		lines.RPIBoot[i] = named(rpibootName(s))
		lines.Power[i] = regulator(powerName(s))
		if v24 {
			lines.USBOTGDev[i] = named(otgName(s))
		}
	}
	if !v24 {
		lines.USBRoute = raw("PG2")
		lines.Node1USBOutput, lines.Node1USBSource = raw("PG0"), raw("PG1")
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("tp2: open v2.5: %w", err)
		}
		b, err := NewV25(lines, opts)
		if err != nil {
			return nil, err
		}
		if err := b.SetUSBDefaults(context.Background()); err != nil {
			return nil, fmt.Errorf("tp2: open v2.5: %w", err)
		}
		return b, nil
	}
	lines.USBSel1, lines.USBOE1 = raw("PG1"), raw("PG2")
	lines.USBSel2, lines.USBOE2 = raw("PG0"), raw("PG3")
	lines.USBRoute = raw("PG5")
	// The device tree makes PD3 the atx-psu regulator, the slot
	// regulators' supply; only an older tree leaves it to us.
	if l, err := socLine(soc, "PD3"); err == nil && l.Consumer() == "" {
		lines.PSU = GPIORegulator{Pin: kernelLine(soc, l)}
	}
	if _, err := os.Stat(filepath.Join(platformDevices, vbusName, "state")); err == nil {
		lines.USBVBUS = regulator(vbusName)
	} else if p := raw("PG4"); p != nil {
		lines.USBVBUS = GPIORegulator{Pin: p, ActiveLow: true}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("tp2: open v2.4: %w", err)
	}
	b, err := NewV24(lines, opts)
	if err != nil {
		return nil, err
	}
	if err := b.SetUSBDefaults(context.Background()); err != nil {
		return nil, fmt.Errorf("tp2: open v2.4: %w", err)
	}
	return b, nil
}

// kernelLine is line l of chip as Open uses it: requested on first write
// with that level (reqLine), read back from what was written (drivenLine).
func kernelLine(chip *gpioioctl.GPIOChip, l *gpioioctl.GPIOLine) gpio.PinOut {
	return &drivenLine{PinOut: &reqLine{PinOut: l, chip: cdevChip{path: chip.Path()}, offset: l.Number()}}
}

// socChip finds the T113's pin controller (gpiochip0, labelled after its
// device, "2000000.pinctrl").
func socChip() (*gpioioctl.GPIOChip, error) {
	for _, c := range gpioioctl.Chips {
		if strings.Contains(c.Label(), "pinctrl") {
			return c, nil
		}
	}
	return nil, errors.New("tp2: no pin controller among the GPIO chips (host.Init not run?)")
}

// socLine returns a raw SoC line by its pin name, such as "PG1".
func socLine(chip *gpioioctl.GPIOChip, pin string) (*gpioioctl.GPIOLine, error) {
	off, err := pinOffset(pin)
	if err != nil {
		return nil, err
	}
	if off >= chip.LineCount() {
		return nil, fmt.Errorf("line %s (offset %d) beyond the %d lines of %s", pin, off, chip.LineCount(), chip.Label())
	}
	return chip.ByNumber(off), nil
}
