package tp1

import (
	"context"
	"fmt"

	"periph.io/x/conn/v3/i2c"
)

// DS4520 registers and bits (Maxim DS4520 datasheet).
const (
	regIOControl byte = 0xF2 // slot power; shadowed in EEPROM
	regConfig    byte = 0xF4 // configuration
	regIOStatus  byte = 0xF8 // pin levels: module installed and on
	configSEE    byte = 0x01 // SRAM-only writes of the shadowed registers
)

// ds4520 reads and writes single registers of the expander. It has no
// locking of its own: Board serializes every call.
type ds4520 struct {
	bus  i2c.Bus
	addr uint16
}

// read returns one register. A cancelled ctx stops it before the bus is used.
func (d ds4520) read(ctx context.Context, reg byte) (byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("read DS4520 0x%02X: %w", reg, err)
	}
	var r [1]byte
	if err := d.bus.Tx(d.addr, []byte{reg}, r[:]); err != nil {
		return 0, fmt.Errorf("read DS4520 0x%02X at 0x%02X on %s: %w", reg, d.addr, d.bus, err)
	}
	return r[0], nil
}

// write sets one register. A cancelled ctx stops it before the bus is used.
func (d ds4520) write(ctx context.Context, reg, v byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write DS4520 0x%02X: %w", reg, err)
	}
	if err := d.bus.Tx(d.addr, []byte{reg, v}, nil); err != nil {
		return fmt.Errorf("write DS4520 0x%02X=0x%02X at 0x%02X on %s: %w", reg, v, d.addr, d.bus, err)
	}
	return nil
}
