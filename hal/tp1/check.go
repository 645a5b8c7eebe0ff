package tp1

import (
	"context"
	"fmt"

	"periph.io/x/conn/v3/i2c"

	"github.com/turingpi-oss/bmcd/hal"
)

var _ hal.Prober = (*Board)(nil)

// Probe reports what the DS4520 at addr (0: DefaultAddr) on bus holds
// without changing it: it reads 0xF4, 0xF2 and 0xF8 and writes nothing,
// so, unlike New, it leaves SEE as it finds it. It is for a check while
// no Board is open on the bus.
func Probe(ctx context.Context, bus i2c.Bus, addr uint16) []hal.Finding {
	if addr == 0 {
		addr = DefaultAddr
	}
	return probe(ctx, ds4520{bus: bus, addr: addr})
}

// Probe implements hal.Prober with the reads of the package's Probe,
// serialized with the Board's other traffic.
func (b *Board) Probe(ctx context.Context) []hal.Finding {
	b.mu.Lock()
	defer b.mu.Unlock()
	return probe(ctx, b.chip)
}

func probe(ctx context.Context, chip ds4520) []hal.Finding {
	name := fmt.Sprintf("DS4520 0x%02X on I2C %s", chip.addr, chip.bus)
	var regs [3]byte
	for i, reg := range []byte{regConfig, regIOControl, regIOStatus} {
		v, err := chip.read(ctx, reg)
		if err != nil {
			return []hal.Finding{{Name: name, Status: hal.CheckFail,
				Detail: fmt.Sprintf("does not answer: %v (is this a Turing Pi 1, and the Cluster Management Bus enabled: dtoverlay=i2c1,pins_44_45?)", err)}}
		}
		regs[i] = v
	}
	cfg, control, status := regs[0], regs[1], regs[2]
	out := []hal.Finding{{Name: name, Status: hal.CheckOK,
		Detail: fmt.Sprintf("answers: config 0xF4=0x%02X, power 0xF2=0x%02X, status 0xF8=0x%02X", cfg, control, status)}}
	see := hal.Finding{Name: "DS4520 SEE (0xF4 bit 0)", Status: hal.CheckOK, Detail: "set: power changes reach SRAM only, not the EEPROM"}
	if cfg&configSEE == 0 {
		see.Status, see.Detail = hal.CheckWarn, "clear: a power change would also be written to the EEPROM; bmcd sets it when it starts"
	}
	out = append(out, see)
	for slot := 1; slot <= slots; slot++ {
		bit, _ := slotBit(slot)
		var d string
		switch {
		case control&bit != 0 && status&bit != 0:
			d = "on, module present"
		case control&bit != 0:
			d = "switched on, no module answers (empty slot)"
		default:
			d = "off (presence cannot be sensed while off)"
		}
		out = append(out, hal.Finding{Name: fmt.Sprintf("slot %d power", slot), Status: hal.CheckOK, Detail: d})
	}
	return out
}
