package tp2

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"

	"github.com/turingpi-oss/bmcd/hal"
)

// Slots is the number of compute-module slots of a Turing Pi 2.
const Slots = 4

// Lines are the board's GPIO lines and supplies. Arrays are indexed by
// slot-1. See the package documentation's line map for what each one is
// on each revision.
//
// The lines are outputs, typed gpio.PinOut: bmcd only drives them, and a
// Read on a kernel line would turn it into an input (on nodeN-en,
// switching the node off). Where the board needs a level back it asks the
// line for the level it knows (see drivenLine), never the pin.
type Lines struct {
	// ActiveLow says how the node lines En and RPIBoot are driven.
	// False (what Open uses): they are the kernel's named lines, which the
	// "turing,pi2-nodes" gpio-aggregator already inverts as the device
	// tree's GPIO_ACTIVE_LOW says, so High asserts (writing 1 to node1-en
	// enables node 1, as the Rust bmcd does). True: they are the raw SoC
	// pins, which assert Low, as the v1 C firmware drove them.
	ActiveLow bool

	// En are nodeN-en: the module's enable.
	En [Slots]gpio.PinOut
	// RPIBoot are nodeN-rpiboot: the USB boot strap.
	RPIBoot [Slots]gpio.PinOut
	// USBOTGDev are nodeN-usbotg-dev, active high: High makes the node a
	// USB device, Low a host (never inverted). v2.4 only: the v2.5 device
	// tree names node1-usbotg-dev (PD19) too, but the vendor's bmcd never
	// drives it there (its UsbHub has no such line), and neither does
	// this package.
	USBOTGDev [Slots]gpio.PinOut

	// Power are the slots' 5 V regulators (nodeN-power).
	Power [Slots]Regulator
	// PSU is the ATX PSU enable, the supply of every slot regulator. Nil
	// means the kernel manages it as the slot regulators' vin-supply
	// (both device trees), switching it on with the first slot and off
	// with the last.
	PSU Regulator

	// USBSel1 (PG1), USBOE1 (PG2), USBSel2 (PG0) and USBOE2 (PG3) drive
	// the v2.4 USB multiplexer that picks the slot.
	USBSel1, USBOE1, USBSel2, USBOE2 gpio.PinOut
	// USBRoute sends the slot's USB to the board's connector (Low) or to
	// the BMC (High): USB_SWITCH PG5 on v2.4, PG2 on v2.5.
	USBRoute gpio.PinOut
	// USBVBUS powers the v2.4 USB-A port (PG4, active low; the kernel's
	// usb-port-power regulator).
	USBVBUS Regulator

	// Node1USBOutput (PG0) and Node1USBSource (PG1) are v2.5's switches
	// of node 1's USB (the vendor's NODE1_OUTPUT_SWITCH_V2_5 and
	// NODE1_SOURCE_SWITCH_V2_5, gpio_definitions.rs). Both Low is the
	// vendor's default (node1_usb false); both High its "alternative
	// port" for node 1.
	Node1USBOutput, Node1USBSource gpio.PinOut
}

// Opts configures a board. The zero value, or nil, is usable: a real
// clock, no logging, and the default of every duration that is not
// positive.
type Opts struct {
	// Clock times the waits of the power sequences.
	Clock clockwork.Clock
	// Logger receives one line per sequence and the failures of undoing
	// a failed one.
	Logger *slog.Logger
	// SettleDelay is the wait after a slot regulator is switched on and
	// after the node is enabled, before the next step (100 ms, as the v1
	// C firmware's node_power).
	SettleDelay time.Duration
	// PSUDelay is the wait after this package switches the ATX PSU on,
	// before the first slot regulator (250 ms, the device trees'
	// startup-delay-us of atx-psu). Unused while the kernel manages the
	// PSU.
	PSUDelay time.Duration
}

const (
	defaultSettleDelay = 100 * time.Millisecond
	defaultPSUDelay    = 250 * time.Millisecond
)

// board is what both revisions share.
type board struct {
	info  hal.Info
	lines Lines
	clock clockwork.Clock
	log   *slog.Logger

	settle, psuDelay time.Duration

	// slotMu serialises the sequences of one slot.
	slotMu [Slots]sync.Mutex
	// supplyMu makes "switch the PSU on, then the slot regulator" and
	// "switch the slot regulator off, then the PSU if no slot is on" atomic,
	// so that a slot powering off never switches the PSU off under a slot
	// powering on.
	supplyMu sync.Mutex
	// usbMu serialises SetUSB, which drives lines shared by all slots.
	usbMu sync.Mutex
}

func newBoard(info hal.Info, lines Lines, opts *Opts) *board {
	if opts == nil {
		opts = &Opts{}
	}
	b := &board{
		info:     info,
		lines:    lines,
		clock:    opts.Clock,
		log:      opts.Logger,
		settle:   opts.SettleDelay,
		psuDelay: opts.PSUDelay,
	}
	if b.clock == nil {
		b.clock = clockwork.NewRealClock()
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.settle <= 0 {
		b.settle = defaultSettleDelay
	}
	if b.psuDelay <= 0 {
		b.psuDelay = defaultPSUDelay
	}
	return b
}

// required collects the names of the lines a constructor needs but was
// given nil.
type required struct {
	missing []string
}

func (r *required) pin(name string, p gpio.PinOut) {
	if p == nil {
		r.missing = append(r.missing, name)
	}
}

func (r *required) reg(name string, g Regulator) {
	if g == nil {
		r.missing = append(r.missing, name)
	}
}

func (r *required) err(profile string) error {
	if len(r.missing) == 0 {
		return nil
	}
	return fmt.Errorf("tp2: %s: missing lines %v", profile, r.missing)
}

// Info implements hal.Board.
func (b *board) Info() hal.Info { return b.info }

func (b *board) checkSlot(op string, slot int) error {
	if err := hal.CheckSlot(slot, Slots); err != nil {
		return fmt.Errorf("tp2: %s: %w", op, err)
	}
	return nil
}

// PowerState implements hal.PowerController. A slot is on when its
// regulator reads enabled and nodeN-en is asserted. A slot whose regulator
// is on but whose enable is deasserted is reported off: the module has
// power but is held disabled, so it does not run, and SetPower(on)
// completes it. Where nodeN-en cannot be read back (Open's lines before
// bmcd first drives them, see drivenLine) the regulator alone decides:
// the sequences switch the two together, so a regulator found on was left
// on with its node enabled.
func (b *board) PowerState(ctx context.Context, slot int) (hal.PowerState, error) {
	if err := b.checkSlot("power state", slot); err != nil {
		return hal.PowerUnknown, err
	}
	st, err := b.powerState(ctx, slot)
	if err != nil {
		return hal.PowerUnknown, fmt.Errorf("tp2: slot %d power state: %w", slot, err)
	}
	return st, nil
}

// powerState is PowerState for a valid slot.
func (b *board) powerState(ctx context.Context, slot int) (hal.PowerState, error) {
	on, err := b.lines.Power[slot-1].Enabled(ctx)
	if err != nil {
		return hal.PowerUnknown, fmt.Errorf("read %s: %w", powerName(slot), err)
	}
	if !on {
		return hal.PowerOff, nil
	}
	l, known := readLevel(b.lines.En[slot-1])
	if known && !isAsserted(l, b.lines.ActiveLow) {
		return hal.PowerOff, nil
	}
	return hal.PowerOn, nil
}

// SetUSBBoot implements hal.USBBootStrapper: it drives nodeN-rpiboot.
func (b *board) SetUSBBoot(ctx context.Context, slot int, asserted bool) error {
	if err := b.checkSlot("usb boot", slot); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tp2: slot %d usb boot: %w", slot, err)
	}
	b.slotMu[slot-1].Lock()
	defer b.slotMu[slot-1].Unlock()
	if err := b.set(b.lines.RPIBoot[slot-1], rpibootName(slot), asserted); err != nil {
		return fmt.Errorf("tp2: slot %d usb boot: %w", slot, err)
	}
	return nil
}

// set asserts or deasserts a node line.
func (b *board) set(p gpio.PinOut, name string, asserted bool) error {
	return b.out(p, name, assertLevel(asserted, b.lines.ActiveLow))
}

// out drives a line and names it in the error.
func (b *board) out(p gpio.PinOut, name string, l gpio.Level) error {
	if err := p.Out(l); err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	return nil
}

// sleep waits d on the board's clock unless ctx ends first. A context
// already done wins over a timer already fired.
func (b *board) sleep(ctx context.Context, d time.Duration, after string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("wait after %s: %w", after, err)
	}
	select {
	case <-ctx.Done():
		return fmt.Errorf("wait after %s: %w", after, ctx.Err())
	case <-b.clock.After(d):
		return nil
	}
}

func enName(slot int) string      { return fmt.Sprintf("node%d-en", slot) }
func rpibootName(slot int) string { return fmt.Sprintf("node%d-rpiboot", slot) }
func otgName(slot int) string     { return fmt.Sprintf("node%d-usbotg-dev", slot) }
func powerName(slot int) string   { return fmt.Sprintf("node%d-power", slot) }

const (
	psuName         = "atx-psu"
	vbusName        = "usb-port-power"
	routeName       = "usb-switch"
	node1OutName    = "node1-usb-output"
	node1SourceName = "node1-usb-source"
)
