package sim

import (
	"context"
	"fmt"

	"github.com/turingpi-oss/bmcd/hal"
)

var _ hal.Prober = (*Board)(nil)

// Probe implements hal.Prober: each slot's simulated power, USB boot strap
// and module, and the USB routing, read without a transition.
func (b *Board) Probe(ctx context.Context) []hal.Finding {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return []hal.Finding{{Name: "simulated board", Status: hal.CheckFail, Detail: err.Error()}}
	}
	var out []hal.Finding
	for i, s := range b.slots {
		d := fmt.Sprintf("power %s, usb boot strap %s, module %s", onOff(s.Power), released(s.USBBoot), installed(!s.Absent))
		out = append(out, hal.Finding{Name: fmt.Sprintf("slot %d", i+1), Status: hal.CheckOK, Detail: d})
	}
	usb := hal.Finding{Name: "usb routing", Status: hal.CheckOK, Detail: "not set since start"}
	if b.muxSlot != 0 {
		usb.Detail = fmt.Sprintf("slot %d %s/%s", b.muxSlot, b.role, b.route)
	}
	if b.usbBus != nil {
		usb.Detail += fmt.Sprintf(" (%s)", b.usbBus.Topology)
	}
	return append(out, usb)
}

func released(asserted bool) string {
	if asserted {
		return "asserted"
	}
	return "released"
}

func installed(in bool) string {
	if in {
		return "installed"
	}
	return "absent"
}
