package tp1

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/i2c"

	"github.com/turingpi-oss/bmcd/hal"
)

// ErrPresenceUnknown is returned by [Board.Present] for a slot that is
// switched off: the DS4520 status bit only rises for a module that is both
// installed and powered, so an unpowered slot cannot be sensed.
var ErrPresenceUnknown = errors.New("tp1: slot is off, presence cannot be sensed")

// ErrUnsafeDefault is returned by [Board.SavePowerDefaults] when every slot
// is off: stored in EEPROM, that value can leave the board unbootable (the
// warning in the README of nicholaswilde/turing-pi-scripts).
var ErrUnsafeDefault = errors.New("tp1: refusing to store all slots off as the power-up default")

// Defaults for [Opts].
const (
	// DefaultAddr is the DS4520's address on the Cluster Management Bus
	// (Turing Pi 1 docs, cluster-management-bus-i2c).
	DefaultAddr uint16 = 0x57
	// DefaultEEPROMWriteTime bounds how long the DS4520 may refuse to
	// answer after a write to 0xF2 or 0xF4 while its EEPROM is written:
	// above the 20 ms that U-Boot's driver for its sibling, the DS4510
	// (cmd/ds4510.c, DS4510_EEPROM_PAGE_WRITE_DELAY_MS), waits after
	// every write.
	DefaultEEPROMWriteTime = 25 * time.Millisecond
)

const (
	slots    = 7
	slotMask = 0xFE // the bits of 0xF2 and 0xF8 wired to slots; bit 0 is unused
)

// Opts configures a Board. A nil *Opts, or a zero field, means the default.
type Opts struct {
	// Addr is the DS4520's I2C address; default DefaultAddr.
	Addr uint16
	// EEPROMWriteTime is how long the transaction after a write to 0xF2
	// or 0xF4 is retried while the chip does not answer; default
	// DefaultEEPROMWriteTime.
	EEPROMWriteTime time.Duration
	// Clock times the waits between those retries; default the real
	// clock.
	Clock clockwork.Clock
	// Logger receives the rare events worth keeping (EEPROM writes, SEE
	// changes); default discards them.
	Logger *slog.Logger
}

// Board is a Turing Pi 1. It is safe for concurrent use.
type Board struct {
	chip ds4520
	log  *slog.Logger

	// mu serializes all traffic to the chip: 0xF2 read-modify-writes must
	// not interleave, and nothing may reach it during an EEPROM write cycle.
	mu sync.Mutex
	// shadowed is true while SEE is known to be set, so a write to 0xF2
	// only reaches SRAM. It is false until New has set SEE, during
	// SavePowerDefaults and after a failure to set SEE again.
	shadowed bool
}

var (
	_ hal.Board              = (*Board)(nil)
	_ hal.PresenceSensor     = (*Board)(nil)
	_ hal.PowerDefaultsSaver = (*Board)(nil)
)

// New returns the board whose DS4520 sits on bus, and puts the chip in SRAM
// shadow mode (SEE set in 0xF4) so that switching power does not write its
// EEPROM. 0xF4 is read first and written only if SEE was clear. The Board
// does not own bus and never closes it.
func New(bus i2c.Bus, opts *Opts) (*Board, error) {
	if bus == nil {
		return nil, errors.New("tp1: nil I2C bus")
	}
	if opts == nil {
		opts = &Opts{}
	}
	b := &Board{
		chip: ds4520{bus: bus, addr: opts.Addr, clock: opts.Clock, writeTime: opts.EEPROMWriteTime},
		log:  opts.Logger,
	}
	if b.chip.addr == 0 {
		b.chip.addr = DefaultAddr
	}
	if b.chip.writeTime <= 0 {
		b.chip.writeTime = DefaultEEPROMWriteTime
	}
	if b.chip.clock == nil {
		b.chip.clock = clockwork.NewRealClock()
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.ensureShadowedLocked(context.Background()); err != nil {
		return nil, fmt.Errorf("tp1: enter SRAM shadow mode: %w", err)
	}
	return b, nil
}

// Info implements hal.Board.
func (b *Board) Info() hal.Info {
	return hal.Info{Profile: "tp1", Model: "Turing Pi 1", Slots: slots}
}

// SetPower implements hal.PowerController. It changes only the slot's bit of
// 0xF2 (read-modify-write) and skips the write when the bit already has the
// wanted value. The write goes to SRAM only; if SEE is not known to be set
// it is set first, and the write is refused if that fails.
func (b *Board) SetPower(ctx context.Context, slot int, on bool) error {
	bit, err := slotBit(slot)
	if err != nil {
		return fmt.Errorf("tp1: set power: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.setBitLocked(ctx, bit, on); err != nil {
		return fmt.Errorf("tp1: switch slot %d %s: %w", slot, onOff(on), err)
	}
	return nil
}

func (b *Board) setBitLocked(ctx context.Context, bit byte, on bool) error {
	if err := b.ensureShadowedLocked(ctx); err != nil {
		return err
	}
	cur, err := b.chip.read(ctx, regIOControl)
	if err != nil {
		return err
	}
	next := cur &^ bit
	if on {
		next |= bit
	}
	if next == cur {
		return nil
	}
	return b.chip.write(ctx, regIOControl, next)
}

// PowerState implements hal.PowerController from 0xF8 alone: a slot that is
// switched on but holds no module reads as PowerOff, because that is what
// the hardware measures. Present tells the two apart.
func (b *Board) PowerState(ctx context.Context, slot int) (hal.PowerState, error) {
	bit, err := slotBit(slot)
	if err != nil {
		return hal.PowerUnknown, fmt.Errorf("tp1: power state: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	status, err := b.chip.read(ctx, regIOStatus)
	if err != nil {
		return hal.PowerUnknown, fmt.Errorf("tp1: power state of slot %d: %w", slot, err)
	}
	if status&bit != 0 {
		return hal.PowerOn, nil
	}
	return hal.PowerOff, nil
}

// Present implements hal.PresenceSensor: a module is present if its slot is
// switched on (0xF2) and the status bit (0xF8) is set. For a slot switched
// off it returns an error wrapping ErrPresenceUnknown, without reading 0xF8.
func (b *Board) Present(ctx context.Context, slot int) (bool, error) {
	bit, err := slotBit(slot)
	if err != nil {
		return false, fmt.Errorf("tp1: presence: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	control, err := b.chip.read(ctx, regIOControl)
	if err != nil {
		return false, fmt.Errorf("tp1: presence in slot %d: %w", slot, err)
	}
	if control&bit == 0 {
		return false, fmt.Errorf("tp1: presence in slot %d: %w", slot, ErrPresenceUnknown)
	}
	status, err := b.chip.read(ctx, regIOStatus)
	if err != nil {
		return false, fmt.Errorf("tp1: presence in slot %d: %w", slot, err)
	}
	return status&bit != 0, nil
}

// SavePowerDefaults implements hal.PowerDefaultsSaver: it stores the
// current 0xF2 in the DS4520's EEPROM, the value the board applies at
// power-up. The traffic is: read 0xF2, read 0xF4, write 0xF4 with SEE clear,
// write 0xF2 (now also to EEPROM), write 0xF4 with SEE set; each write
// after the first is retried while the chip finishes the EEPROM write
// cycle of the one before (see Opts.EEPROMWriteTime). Once SEE is cleared, SEE is set again whatever fails and even if
// ctx is cancelled; the errors are joined. An all-off 0xF2 is refused with
// ErrUnsafeDefault before anything is written.
func (b *Board) SavePowerDefaults(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.saveLocked(ctx); err != nil {
		return fmt.Errorf("tp1: save power defaults: %w", err)
	}
	return nil
}

func (b *Board) saveLocked(ctx context.Context) error {
	power, err := b.chip.read(ctx, regIOControl)
	if err != nil {
		return err
	}
	if power&slotMask == 0 {
		return fmt.Errorf("0xF2=0x%02X: %w", power, ErrUnsafeDefault)
	}
	cfg, err := b.chip.read(ctx, regConfig)
	if err != nil {
		return err
	}

	// From here the chip may write its EEPROM: finish without regard to ctx.
	ctx = context.WithoutCancel(ctx)
	b.shadowed = false
	err = b.chip.write(ctx, regConfig, cfg&^configSEE)
	if err == nil {
		err = b.chip.write(ctx, regIOControl, power)
	}
	if rerr := b.chip.write(ctx, regConfig, cfg|configSEE); rerr != nil {
		// SetPower sets SEE again before its next write to 0xF2.
		b.log.Error("tp1: DS4520 may be left writing 0xF2 through to EEPROM", "err", rerr)
		return errors.Join(err, fmt.Errorf("set SEE again: %w", rerr))
	}
	b.shadowed = true
	if err != nil {
		return err
	}
	b.log.Info("tp1: power-up defaults stored in DS4520 EEPROM", "io_control", fmt.Sprintf("0x%02X", power))
	return nil
}

// ensureShadowedLocked sets SEE in 0xF4, by read-modify-write, unless it is
// known to be set already. b.mu must be held.
func (b *Board) ensureShadowedLocked(ctx context.Context) error {
	if b.shadowed {
		return nil
	}
	cfg, err := b.chip.read(ctx, regConfig)
	if err != nil {
		return err
	}
	if cfg&configSEE == 0 {
		if err := b.chip.write(ctx, regConfig, cfg|configSEE); err != nil {
			return err
		}
		b.log.Info("tp1: DS4520 switched to SRAM shadow mode; power changes no longer write its EEPROM")
	}
	b.shadowed = true
	return nil
}

// slotBit is the slot's bit in 0xF2 and 0xF8 (Turing Pi 1 docs,
// cluster-management-bus-i2c); slots 5-7 are wired in reverse order.
func slotBit(slot int) (byte, error) {
	if err := hal.CheckSlot(slot, slots); err != nil {
		return 0, err
	}
	return [slots]byte{0x02, 0x04, 0x08, 0x10, 0x80, 0x40, 0x20}[slot-1], nil
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
