package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/turingpi-oss/bmcd/api"
)

// printJSON writes v indented, for scripts (-o json).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printSlots writes slots as a table with the columns given.
func printSlots(w io.Writer, slots []api.Slot, long bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if long {
		fmt.Fprintln(tw, "SLOT\tNAME\tMODULE\tPOWER\tPRESENT\tPOLICY\tNOTE")
	} else {
		fmt.Fprintln(tw, "SLOT\tPOWER")
	}
	for _, s := range slots {
		if !long {
			fmt.Fprintf(tw, "%d\t%s\n", s.Slot, s.Power)
			continue
		}
		present := "-"
		if s.Present != nil {
			present = map[bool]string{true: "yes", false: "no"}[*s.Present]
		}
		var notes []string
		if s.Self {
			notes = append(notes, "bmcd runs here")
		}
		if s.Busy {
			notes = append(notes, "busy")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Slot, dash(s.Name), dash(s.Module), s.Power, present, s.Policy, strings.Join(notes, ", "))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
