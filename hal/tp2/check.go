package tp2

import (
	"context"
	"fmt"

	"periph.io/x/conn/v3/gpio"

	"github.com/turingpi-oss/bmcd/hal"
)

var (
	_ hal.Prober = (*BoardV24)(nil)
	_ hal.Prober = (*BoardV25)(nil)
)

// Probe implements hal.Prober: the level of every line the board holds
// and the state of every supply, read back without driving anything.
// A line bmcd has not driven since it started reads as not known (see
// drivenLine: reading it in place would reconfigure it).
func (b *board) Probe(ctx context.Context) []hal.Finding {
	return ProbeLines(ctx, b.lines)
}

// ProbeLines reports the level of each of lines and the state of each
// supply, reading only the levels the lines know and Enabled, never Out
// or SetEnabled. A v2.4 is told from a v2.5 by its multiplexer lines.
// Missing lines fail.
func ProbeLines(ctx context.Context, lines Lines) []hal.Finding {
	v24 := lines.USBSel1 != nil
	var out []hal.Finding
	node := func(name string, p gpio.PinOut, meaning string) {
		out = append(out, lineFinding(name, p, lines.ActiveLow, meaning))
	}
	for i := range Slots {
		s := i + 1
		out = append(out, supplyFinding(ctx, powerName(s), lines.Power[i]))
		node(enName(s), lines.En[i], "node enabled")
		if v24 {
			out = append(out, lineFinding(otgName(s), lines.USBOTGDev[i], false, "USB device (Low: host)"))
		}
		node(rpibootName(s), lines.RPIBoot[i], "boots from USB")
	}
	if lines.PSU != nil {
		out = append(out, supplyFinding(ctx, psuName, lines.PSU))
	} else {
		out = append(out, hal.Finding{Name: psuName, Status: hal.CheckSkip, Detail: "managed by the kernel as the slot regulators' supply"})
	}
	route := lineFinding(routeName, lines.USBRoute, false, "USB routed to the BMC (Low: the board's connector)")
	if !v24 {
		out = append(out, route,
			lineFinding(node1OutName, lines.Node1USBOutput, false, "node 1 USB output switch (Low: the vendor default; High: its alternative port)"),
			lineFinding(node1SourceName, lines.Node1USBSource, false, "node 1 USB source switch (Low: the vendor default; High: its alternative port)"))
		return out
	}
	mux := []struct {
		name string
		pin  gpio.PinOut
	}{{"usb-sel1", lines.USBSel1}, {"usb-oe1", lines.USBOE1}, {"usb-sel2", lines.USBSel2}, {"usb-oe2", lines.USBOE2}}
	var code [4]gpio.Level
	known := true
	for i, m := range mux {
		f := lineFinding(m.name, m.pin, false, "")
		out = append(out, f)
		l, ok := level(m.pin)
		code[i], known = l, known && ok
	}
	muxF := hal.Finding{Name: "usb mux", Status: hal.CheckSkip, Detail: "selection not known: a line's level is not known"}
	if known {
		muxF.Status, muxF.Detail = hal.CheckWarn, fmt.Sprintf("code %v selects no slot", code)
		for s := 1; s <= Slots; s++ {
			if muxCode(s) == code {
				muxF.Status, muxF.Detail = hal.CheckOK, fmt.Sprintf("selects slot %d", s)
			}
		}
	}
	out = append(out, muxF, route, supplyFinding(ctx, vbusName, lines.USBVBUS))
	return out
}

// level reads a line without reconfiguring it; ok is false when its
// level is not known or the line is missing.
func level(p gpio.PinOut) (gpio.Level, bool) {
	if p == nil {
		return gpio.Low, false
	}
	l, ok, _, _ := inspectLine(p)
	return l, ok
}

// lineInspector is a line that can tell more than its level: who holds
// it and which way it points (the kernel's lines seen by OpenReadOnly).
type lineInspector interface {
	// inspect returns the level (ok false if it was not read), a note on
	// the line, and whether something else holds it.
	inspect() (l gpio.Level, ok bool, note string, held bool)
}

// inspectLine reads a line without reconfiguring it.
func inspectLine(p gpio.PinOut) (l gpio.Level, ok bool, note string, held bool) {
	if in, ok := p.(lineInspector); ok {
		return in.inspect()
	}
	if l, ok = readLevel(p); !ok {
		note = "level not known (not driven since bmcd started, and reading it in place would reconfigure it)"
	}
	return l, ok, note, false
}

// lineFinding describes a line's level and what the level means where it
// asserts (meaning, "" for none).
func lineFinding(name string, p gpio.PinOut, activeLow bool, meaning string) hal.Finding {
	f := hal.Finding{Name: name}
	if _, missing := p.(*missingPin); missing || p == nil {
		f.Status, f.Detail = hal.CheckFail, "line not found"
		return f
	}
	l, ok, note, held := inspectLine(p)
	switch {
	case held:
		f.Status, f.Detail = hal.CheckWarn, note
		return f
	case !ok:
		f.Status, f.Detail = hal.CheckSkip, "present; "+note
		return f
	}
	f.Status, f.Detail = hal.CheckOK, l.String()
	if meaning != "" {
		if isAsserted(l, activeLow) {
			f.Detail += " (asserted: " + meaning + ")"
		} else {
			f.Detail += " (deasserted)"
		}
	}
	if note != "" {
		f.Detail += "; " + note
	}
	return f
}

// supplyFinding reads a supply's state back.
func supplyFinding(ctx context.Context, name string, r Regulator) hal.Finding {
	f := hal.Finding{Name: name}
	if r == nil {
		f.Status, f.Detail = hal.CheckFail, "supply not found"
		return f
	}
	on, err := r.Enabled(ctx)
	switch {
	case err != nil:
		f.Status, f.Detail = hal.CheckFail, err.Error()
	case on:
		f.Status, f.Detail = hal.CheckOK, "enabled"
	default:
		f.Status, f.Detail = hal.CheckOK, "disabled"
	}
	return f
}
