package tp1

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/i2c"
)

// DS4520 registers and bits (Maxim DS4520 datasheet).
const (
	regIOControl byte = 0xF2 // slot power; shadowed in EEPROM
	regConfig    byte = 0xF4 // configuration; nonvolatile
	regIOStatus  byte = 0xF8 // pin levels: module installed and on
	configSEE    byte = 0x01 // SRAM-only writes of the shadowed registers
)

// pollInterval is the pause between attempts to reach a chip that is
// busy with an EEPROM write cycle.
const pollInterval = time.Millisecond

// ErrWriteCycle is returned when the DS4520 still does not answer once
// the EEPROM write time after a write to 0xF2 or 0xF4 has passed.
var ErrWriteCycle = errors.New("DS4520 did not answer within its EEPROM write time")

// ds4520 reads and writes single registers of the expander. It has no
// locking of its own: Board serializes every call.
//
// A write to 0xF4, or to 0xF2 while SEE is clear, starts an EEPROM write
// cycle during which the chip acknowledges nothing. The transaction after
// such a write is therefore retried, every pollInterval, until writeTime
// has passed on clock.
type ds4520 struct {
	bus       i2c.Bus
	addr      uint16
	clock     clockwork.Clock
	writeTime time.Duration

	// cycling is the register whose write may still be in its EEPROM
	// write cycle, or 0.
	cycling byte
}

// read returns one register. A cancelled ctx stops it before the bus is used.
func (d *ds4520) read(ctx context.Context, reg byte) (byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("read DS4520 0x%02X: %w", reg, err)
	}
	var r [1]byte
	if err := d.tx([]byte{reg}, r[:]); err != nil {
		return 0, fmt.Errorf("read DS4520 0x%02X at 0x%02X on %s: %w", reg, d.addr, d.bus, err)
	}
	return r[0], nil
}

// write sets one register. A cancelled ctx stops it before the bus is used.
func (d *ds4520) write(ctx context.Context, reg, v byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write DS4520 0x%02X: %w", reg, err)
	}
	err := d.tx([]byte{reg, v}, nil)
	if reg == regConfig || reg == regIOControl {
		// Even a write that reported an error may have started a cycle.
		d.cycling = reg
	}
	if err != nil {
		return fmt.Errorf("write DS4520 0x%02X=0x%02X at 0x%02X on %s: %w", reg, v, d.addr, d.bus, err)
	}
	return nil
}

// tx runs one transaction, retrying it while the chip may be busy with the
// write cycle of the previous write. The wait is bounded by writeTime
// whatever the context says: the cycle finishes on its own.
func (d *ds4520) tx(w, r []byte) error {
	err := d.bus.Tx(d.addr, w, r)
	reg := d.cycling
	if reg == 0 {
		return err
	}
	var waited time.Duration
	for err != nil && waited < d.writeTime {
		d.clock.Sleep(pollInterval)
		waited += pollInterval
		err = d.bus.Tx(d.addr, w, r)
	}
	d.cycling = 0
	if err != nil {
		return fmt.Errorf("%w (%s after writing 0x%02X): %w", ErrWriteCycle, waited, reg, err)
	}
	return nil
}
