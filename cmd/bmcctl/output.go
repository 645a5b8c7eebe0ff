package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// printJSON writes v indented, for scripts (-o json).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printJSONLine writes v on one line, for streams (-o json events).
func printJSONLine(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// writeSlots writes the slots table of "bmcctl slots". The PRESENT
// column is there only when the board senses modules; the slot bmcd runs
// on is marked with *.
func writeSlots(w io.Writer, slots []apitype.Slot) error {
	presence, self, nodes := false, false, false
	for _, s := range slots {
		presence = presence || s.Present != nil
		self = self || s.Self
		nodes = nodes || s.Node != nil
	}
	tw := newTable(w)
	cols := []string{"SLOT", "NAME", "MODULE", "POWER", "POLICY"}
	if presence {
		cols = []string{"SLOT", "NAME", "MODULE", "POWER", "PRESENT", "POLICY"}
	}
	if nodes {
		cols = append(cols, "NODE", "OS", "ADDRESS")
	}
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for _, s := range slots {
		row := []string{slotLabel(s), dash(s.Name), dash(s.Module), powerLabel(s)}
		if presence {
			row = append(row, presentLabel(s.Present))
		}
		row = append(row, dash(s.Policy))
		if nodes {
			row = append(row, nodeColumns(s.Node)...)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range slots {
		if s.Node != nil && s.Node.Warning != "" {
			fmt.Fprintf(w, "! slot %d: %s\n", s.Slot, s.Node.Warning)
		}
	}
	if self {
		_, err := fmt.Fprintln(w, "* the slot bmcd runs on")
		return err
	}
	return nil
}

// nodeColumns are a prepared node's columns: user@hostname, OS, and the
// address, "(not seen)" until its console reported one.
func nodeColumns(n *apitype.Node) []string {
	if n == nil {
		return []string{"-", "-", "-"}
	}
	addr := n.Address
	if len(n.Addresses) == 0 {
		addr += " (not seen)"
	}
	return []string{n.User + "@" + n.Hostname, n.OS, addr}
}

// writePowerStatus writes "bmcctl power status": SLOT and POWER.
func writePowerStatus(w io.Writer, slots []apitype.Slot) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "SLOT\tPOWER")
	for _, s := range slots {
		fmt.Fprintf(tw, "%d\t%s\n", s.Slot, powerLabel(s))
	}
	return tw.Flush()
}

// writePowerResult writes the slots after a power action, "slot 3: on".
func writePowerResult(w io.Writer, slots []apitype.Slot) error {
	for _, s := range slots {
		if _, err := fmt.Fprintf(w, "slot %d: %s\n", s.Slot, powerLabel(s)); err != nil {
			return err
		}
	}
	return nil
}

// writeSlotSettings writes a slot after "bmcctl slot set".
func writeSlotSettings(w io.Writer, s apitype.Slot) error {
	_, err := fmt.Fprintf(w, "slot %d: name %s, module %s, policy %s\n", s.Slot, dash(s.Name), dash(s.Module), dash(s.Policy))
	return err
}

// writeBoard writes "bmcctl board".
func writeBoard(w io.Writer, b apitype.BoardInfo) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "Model:\t%s\n", dash(b.Model))
	fmt.Fprintf(tw, "Profile:\t%s\n", dash(b.Profile))
	fmt.Fprintf(tw, "Slots:\t%d\n", b.Slots)
	fmt.Fprintf(tw, "Capabilities:\t%s\n", dash(strings.Join(b.Capabilities, ", ")))
	fmt.Fprintf(tw, "bmcd:\t%s\n", dash(b.Version))
	for _, warning := range b.Warnings {
		fmt.Fprintf(tw, "Warning:\t%s\n", warning)
	}
	return tw.Flush()
}

// writeEvent writes one event as a line, with its time in loc.
func writeEvent(w io.Writer, ev apitype.Event, loc *time.Location) error {
	ts := "--:--:--"
	if !ev.Time.IsZero() {
		ts = ev.Time.In(loc).Format(time.TimeOnly)
	}
	var what string
	switch {
	case ev.Job != nil:
		j := ev.Job
		what = fmt.Sprintf("job %d, slot %d: %s", j.ID, j.Slot, j.State)
		if j.Step != "" {
			what += " (" + j.Step + ")"
		}
		if j.Error != "" {
			what += ": " + j.Error
		}
	case ev.Slot != nil && ev.Type == "power":
		what = fmt.Sprintf("slot %d: %s", ev.Slot.Slot, powerLabel(*ev.Slot))
	case ev.Slot != nil:
		s := ev.Slot
		what = fmt.Sprintf("slot %d: name %s, module %s, policy %s", s.Slot, dash(s.Name), dash(s.Module), dash(s.Policy))
	default:
		what = "#" + strconv.FormatUint(ev.ID, 10)
	}
	_, err := fmt.Fprintf(w, "%s  %-5s  %s\n", ts, ev.Type, what)
	return err
}

func slotLabel(s apitype.Slot) string {
	if s.Self {
		return strconv.Itoa(s.Slot) + "*"
	}
	return strconv.Itoa(s.Slot)
}

func powerLabel(s apitype.Slot) string {
	p := dash(s.Power)
	if s.Busy {
		p += " (busy)"
	}
	return p
}

func presentLabel(p *bool) string {
	switch {
	case p == nil:
		return "-"
	case *p:
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
