package tp2

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"periph.io/x/conn/v3/gpio"
)

// Regulator is a switchable supply: a slot's 5 V regulator, the ATX PSU or
// the USB-A port's VBUS.
type Regulator interface {
	// SetEnabled switches the supply on or off and returns once the
	// supply has taken the new state.
	SetEnabled(ctx context.Context, on bool) error
	// Enabled reads the supply's state back.
	Enabled(ctx context.Context) (bool, error)
}

// SysfsRegulator is a kernel "regulator-output" userspace consumer, such as
// /sys/bus/platform/devices/node1-power/state: writing "enabled" or
// "disabled" switches the regulator (the kernel also switches its supply,
// the ATX PSU, and sleeps the regulator's startup-delay-us), and reading
// the file returns the state the kernel keeps.
type SysfsRegulator struct {
	// Path is the consumer's state file.
	Path string
}

var _ Regulator = SysfsRegulator{}

// SetEnabled writes "enabled" or "disabled" to the state file. The file
// is not created if it is missing: a missing sysfs attribute is an error,
// not something to fake with a regular file.
func (r SysfsRegulator) SetEnabled(_ context.Context, on bool) error {
	state := "disabled"
	if on {
		state = "enabled"
	}
	f, err := os.OpenFile(r.Path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", r.Path, err)
	}
	// sysfs takes an attribute in a single write.
	_, err = f.WriteString(state)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", state, r.Path, err)
	}
	return nil
}

// Enabled reads the state file: "enabled" or "disabled", with or without
// a trailing newline. Anything else is an error.
func (r SysfsRegulator) Enabled(_ context.Context) (bool, error) {
	data, err := os.ReadFile(r.Path)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", r.Path, err)
	}
	switch s := strings.TrimSpace(string(data)); s {
	case "enabled":
		return true, nil
	case "disabled":
		return false, nil
	default:
		return false, fmt.Errorf("read %s: unexpected state %q", r.Path, s)
	}
}

// GPIORegulator is a supply switched by one GPIO line, for a supply the
// kernel does not manage (the ATX PSU on PD3 of a v2.4 board whose device
// tree does not claim it, or the USB-A VBUS on PG4).
type GPIORegulator struct {
	// Pin is the enable line.
	Pin gpio.PinOut
	// ActiveLow: the supply is on while the line is Low (PG4).
	ActiveLow bool
}

var _ Regulator = GPIORegulator{}

// SetEnabled drives the enable line.
func (r GPIORegulator) SetEnabled(_ context.Context, on bool) error {
	return r.Pin.Out(assertLevel(on, r.ActiveLow))
}

// Enabled reads the enable line back. A line whose level cannot be read
// (see [Open]) is an error rather than a guess.
func (r GPIORegulator) Enabled(_ context.Context) (bool, error) {
	l, ok := readLevel(r.Pin)
	if !ok {
		return false, errUnknownLevel
	}
	return isAsserted(l, r.ActiveLow), nil
}

var errUnknownLevel = errors.New("line level unknown: not driven since bmcd started and not readable")
