package tp2

import (
	"periph.io/x/conn/v3/gpio"

	"github.com/turingpi-oss/bmcd/hal"
)

// BoardV25 is a Turing Pi 2 v2.5 or v2.5.1: slot power and nodeN-en behind
// the kernel's gpio-latch, USB boot lines, and a USB hub instead of the
// multiplexer. It has no reset lines, so it is deliberately not a
// hal.Resetter: the domain layer power cycles instead. It is safe for
// concurrent use.
type BoardV25 struct {
	*board
}

var (
	_ hal.Board           = (*BoardV25)(nil)
	_ hal.USBBootStrapper = (*BoardV25)(nil)
	_ hal.USBRouter       = (*BoardV25)(nil)
)

// NewV25 returns a v2.5 board on lines. It needs En, RPIBoot, Power,
// USBRoute, Node1USBOutput and Node1USBSource; PSU is optional and the v2.4-only lines are ignored. opts may
// be nil.
func NewV25(lines Lines, opts *Opts) (*BoardV25, error) {
	var r required
	for i := range Slots {
		s := i + 1
		r.pin(enName(s), lines.En[i])
		r.pin(rpibootName(s), lines.RPIBoot[i])
		r.reg(powerName(s), lines.Power[i])
	}
	r.pin(routeName, lines.USBRoute)
	r.pin(node1OutName, lines.Node1USBOutput)
	r.pin(node1SourceName, lines.Node1USBSource)
	if err := r.err("v2.5"); err != nil {
		return nil, err
	}
	// Drop what v2.5 does not have, so nothing can drive it by mistake.
	lines.USBOTGDev = [Slots]gpio.PinOut{}
	lines.USBSel1, lines.USBOE1, lines.USBSel2, lines.USBOE2 = nil, nil, nil, nil
	lines.USBVBUS = nil
	b := newBoard(hal.Info{Profile: "tp2-v2.5", Model: "Turing Pi 2 (v2.5)", Slots: Slots}, lines, opts)
	return &BoardV25{b}, nil
}
