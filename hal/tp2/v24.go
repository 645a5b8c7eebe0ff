package tp2

import (
	"github.com/turingpi-oss/bmcd/hal"
)

// BoardV24 is a Turing Pi 2 v2.4: slot regulators, enable and USB boot
// lines per node, and the USB multiplexer. It is deliberately not a
// hal.Resetter: the device tree names nodeN-rst lines, but they are not
// connected on the board (the vendor's bmcd, commit 71c0126, "Node reset
// GPIO's are not connected on the board"), so the domain layer power
// cycles a slot to reset it, as on v2.5, and the lines are never
// requested. It is safe for concurrent use.
type BoardV24 struct {
	*board
}

var (
	_ hal.Board           = (*BoardV24)(nil)
	_ hal.USBBootStrapper = (*BoardV24)(nil)
	_ hal.USBRouter       = (*BoardV24)(nil)
)

// NewV24 returns a v2.4 board on lines. Every line but PSU and the v2.5
// ones is required; opts may be nil.
func NewV24(lines Lines, opts *Opts) (*BoardV24, error) {
	var r required
	for i := range Slots {
		s := i + 1
		r.pin(enName(s), lines.En[i])
		r.pin(rpibootName(s), lines.RPIBoot[i])
		r.pin(otgName(s), lines.USBOTGDev[i])
		r.reg(powerName(s), lines.Power[i])
	}
	r.pin("usb-sel1", lines.USBSel1)
	r.pin("usb-oe1", lines.USBOE1)
	r.pin("usb-sel2", lines.USBSel2)
	r.pin("usb-oe2", lines.USBOE2)
	r.pin(routeName, lines.USBRoute)
	r.reg(vbusName, lines.USBVBUS)
	if err := r.err("v2.4"); err != nil {
		return nil, err
	}
	lines.Node1USBOutput, lines.Node1USBSource = nil, nil // v2.5 only
	b := newBoard(hal.Info{Profile: "tp2-v2.4", Model: "Turing Pi 2 (v2.4)", Slots: Slots}, lines, opts)
	return &BoardV24{b}, nil
}
