// Package tp1 is the Turing Pi 1 board profile: seven compute-module slots
// whose power is switched by a Maxim DS4520 I/O expander on the board's
// Cluster Management Bus, driven here over a periph.io [i2c.Bus].
//
// On a Raspberry Pi compute module in slot 1 the Cluster Management Bus is
// I2C bus 1 (/dev/i2c-1); the DS4520 answers at 0x57 (Turing Pi 1 docs,
// cluster-management-bus-i2c).
//
// # Register map
//
// Sources: Turing Pi 1 docs, cluster-management-bus-i2c (slot wiring) and
// Maxim DS4520 datasheet (register semantics).
//
//	0xF2  I/O control   slot power, 1 = on. EEPROM-backed (the value the
//	                    board applies at power-up); factory default 0xFF.
//	0xF4  config        bit 0 SEE: 1 = writes to 0xF2 change the SRAM
//	                    shadow only; 0 = they are also written to EEPROM.
//	0xF8  I/O status    1 = a module is installed AND its slot is on.
//
// 0xF2 and 0xF8 share one bit map:
//
//	slot  1     2     3     4     5     6     7     (bit 0 unused)
//	bit   0x02  0x04  0x08  0x10  0x80  0x40  0x20
//
// A register is read as Tx(0x57, w=[reg], r=[1 byte]) and written as
// Tx(0x57, w=[reg, value], r=nil).
//
// # EEPROM
//
// The DS4520 stores 0xF2 in EEPROM unless SEE is set, and 0xF4 itself is
// nonvolatile, so SEE survives a power cycle. Storing every slot off can
// leave the board unbootable (the warning in the README of
// nicholaswilde/turing-pi-scripts; the Turing Pi 1 docs give the
// register map, not this warning). [New] therefore sets SEE
// (read-modify-write of 0xF4, written only if SEE was clear: one EEPROM
// write on a board that never had it set), so routine power switching
// writes SRAM only. Only [Board.SavePowerDefaults] clears SEE, rewrites
// 0xF2 and sets SEE again; it refuses to store all slots off
// ([ErrUnsafeDefault]).
//
// While the chip writes its EEPROM it acknowledges nothing on the bus.
// After every write to 0xF4 or 0xF2 the next transaction is therefore
// retried every millisecond for up to 25 ms (Opts.EEPROMWriteTime; U-Boot's
// driver for the sibling DS4510 waits 20 ms after each write), and fails
// with [ErrWriteCycle] when the chip still does not answer.
//
// # Measured state
//
// [Board.PowerState] reads 0xF8, so a slot switched on with no module in it
// reads as off: the hardware cannot tell "on and empty" from "off".
// [Board.Present] tells them apart by reading 0xF2 as well; for a slot that
// is switched off presence cannot be sensed, and it returns
// [ErrPresenceUnknown].
//
// Every register access, reads included, is serialized by one mutex per
// Board: read-modify-writes of 0xF2 for different slots must not interleave,
// and nothing may talk to the chip during an EEPROM write cycle.
package tp1
