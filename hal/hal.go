package hal

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotSupported is returned when the board lacks the hardware for an operation.
var ErrNotSupported = errors.New("hal: not supported by this board")

// ErrNoSlot is returned for a slot number the board does not have.
var ErrNoSlot = errors.New("hal: no such slot")

// PowerState is a slot's power as measured on the hardware.
type PowerState uint8

// Power states. PowerUnknown is reported when the hardware could not be read.
const (
	PowerUnknown PowerState = iota
	PowerOff
	PowerOn
)

func (s PowerState) String() string {
	switch s {
	case PowerOff:
		return "off"
	case PowerOn:
		return "on"
	default:
		return "unknown"
	}
}

// Info describes a board profile.
type Info struct {
	// Profile is the identifier used on the command line, e.g. "tp2-v2.4".
	Profile string
	// Model is the human-readable board name, e.g. "Turing Pi 2 (v2.4)".
	Model string
	// Slots is the number of compute-module slots, numbered 1..Slots.
	Slots int
}

// Board is what every board profile provides.
type Board interface {
	Info() Info
	PowerController
}

// PowerController switches slot power and reads it back.
type PowerController interface {
	// SetPower switches a slot on or off, running the board's power
	// sequence, and returns when the sequence is complete.
	SetPower(ctx context.Context, slot int, on bool) error
	// PowerState reads the slot's power from the hardware, never from a
	// stored intent.
	PowerState(ctx context.Context, slot int) (PowerState, error)
}

// Resetter pulses a slot's reset line.
type Resetter interface {
	Reset(ctx context.Context, slot int) error
}

// USBBootStrapper drives a slot's USB boot strap (nRPIBOOT). While asserted,
// a Raspberry Pi compute module that powers up boots from USB.
type USBBootStrapper interface {
	SetUSBBoot(ctx context.Context, slot int, asserted bool) error
}

// USBRole is the role a slot's USB port plays.
type USBRole uint8

// USB roles.
const (
	// USBDevice: the module is a USB device (for flashing, gadget mode);
	// the host is the BMC or a computer on the board's connector.
	USBDevice USBRole = iota
	// USBHost: the module is the USB host and powers the board's USB-A port.
	USBHost
)

func (r USBRole) String() string {
	if r == USBHost {
		return "host"
	}
	return "device"
}

// USBRoute says where the slot's USB lines go.
type USBRoute uint8

// USB routes.
const (
	// RouteConnector: the board's external USB connector.
	RouteConnector USBRoute = iota
	// RouteBMC: the management controller itself (used for flashing).
	RouteBMC
)

func (r USBRoute) String() string {
	if r == RouteBMC {
		return "bmc"
	}
	return "connector"
}

// USBConfig is a complete USB routing decision.
type USBConfig struct {
	Slot  int
	Role  USBRole
	Route USBRoute
}

// USBRouter connects the board's USB to a slot.
type USBRouter interface {
	SetUSB(ctx context.Context, cfg USBConfig) error
}

// PresenceSensor reports whether a module is installed in a slot.
type PresenceSensor interface {
	Present(ctx context.Context, slot int) (bool, error)
}

// PowerDefaultsSaver stores the current slot power state as the state the
// board applies by itself at power-up.
type PowerDefaultsSaver interface {
	SavePowerDefaults(ctx context.Context) error
}

// ConsolePort is where a slot's serial console reaches the controller.
type ConsolePort struct {
	Slot int
	// Device is the UART's device node: "/dev/ttyS1".
	Device string
	// Baud is the rate the module's firmware uses by default.
	Baud int
}

// ConsoleWiring is a board whose slots' UARTs reach the controller.
type ConsoleWiring interface {
	ConsolePorts() []ConsolePort
}

// CheckSlot returns an error wrapping ErrNoSlot unless 1 <= slot <= slots.
func CheckSlot(slot, slots int) error {
	if slot < 1 || slot > slots {
		return fmt.Errorf("slot %d: %w (board has slots 1-%d)", slot, ErrNoSlot, slots)
	}
	return nil
}

// USBTopology is a board profile that knows how its slots' USB reaches
// the controller (shared/reference/turingpi.md §3.3).
type USBTopology interface {
	USBTopology() USBLayout
}

// USBLayout is how the slots' USB reaches the controller.
type USBLayout struct {
	// ParallelFlash: every slot has a USB port of its own, so several
	// modules can be in USB boot mode, and flash, at once. Behind a
	// multiplexer only one slot at a time reaches the controller.
	ParallelFlash bool
	// Hub is the USB vendor and product ID of the hub the slots sit
	// behind, which a check expects on the bus; nil: none to look for.
	Hub *[2]uint16
}
