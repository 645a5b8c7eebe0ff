package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the output produced")

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), string(got), "%s differs; if the change is intended, run go test -update", path)
}

func ptr[T any](v T) *T { return &v }

func tp2Slots() []apitype.Slot {
	return []apitype.Slot{
		{Slot: 1, Name: "k3s-server", Module: "CM4", Power: "on", Policy: "always-on", Requested: "on"},
		{Slot: 2, Name: "worker-1", Module: "RK1", Power: "on", Policy: "last-state", Busy: true},
		{Slot: 3, Power: "off", Policy: "last-state"},
		{Slot: 4, Name: "nas", Module: "CM4", Power: "unknown", Policy: "always-off"},
	}
}

func tp1Slots() []apitype.Slot {
	return []apitype.Slot{
		{Slot: 1, Name: "bmc-host", Module: "CM3+", Power: "on", Present: ptr(true), Policy: "always-on", Self: true},
		{Slot: 2, Power: "off", Present: ptr(false), Policy: "always-off"},
		{Slot: 3, Name: "node3", Power: "on", Present: ptr(true), Policy: "last-state"},
		{Slot: 4, Power: "off", Policy: "last-state"},
	}
}

func TestOutputGolden(t *testing.T) {
	utc := time.UTC
	at := time.Date(2025, 6, 1, 12, 30, 45, 0, utc)
	tests := []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{name: "slots", write: func(b *bytes.Buffer) error { return writeSlots(b, tp2Slots()) }},
		{name: "slots-presence-self", write: func(b *bytes.Buffer) error { return writeSlots(b, tp1Slots()) }},
		{name: "slots-empty", write: func(b *bytes.Buffer) error { return writeSlots(b, nil) }},
		{name: "slots-json", write: func(b *bytes.Buffer) error { return printJSON(b, tp1Slots()[:2]) }},
		{name: "power-status", write: func(b *bytes.Buffer) error { return writePowerStatus(b, tp2Slots()) }},
		{name: "power-result", write: func(b *bytes.Buffer) error { return writePowerResult(b, tp2Slots()) }},
		{name: "slot-set", write: func(b *bytes.Buffer) error { return writeSlotSettings(b, tp2Slots()[2]) }},
		{name: "board", write: func(b *bytes.Buffer) error {
			return writeBoard(b, apitype.BoardInfo{
				Profile: "tp2-v2.4", Model: "Turing Pi 2 (v2.4)", Slots: 4,
				Capabilities: []string{"reset", "usb-boot", "usb-route"}, Version: "v0.3.0",
				Warnings: []string{"state file was corrupt and has been replaced by defaults"},
			})
		}},
		{name: "board-minimal", write: func(b *bytes.Buffer) error {
			return writeBoard(b, apitype.BoardInfo{Profile: "sim", Model: "Simulated board", Slots: 7, Capabilities: []string{}})
		}},
		{name: "events", write: func(b *bytes.Buffer) error {
			events := []apitype.Event{
				{ID: 1, Time: at, Type: "power", Slot: &apitype.Slot{Slot: 3, Power: "on"}},
				{ID: 2, Time: at.Add(time.Second), Type: "power", Slot: &apitype.Slot{Slot: 3, Power: "off", Busy: true}},
				{ID: 3, Time: at.Add(2 * time.Second), Type: "slot", Slot: &apitype.Slot{Slot: 2, Name: "k3s", Module: "CM4", Policy: "always-on"}},
				{ID: 4, Time: at.Add(3 * time.Second), Type: "job", Job: &apitype.Job{ID: 7, Slot: 1, State: "running", Step: "write"}},
				{ID: 5, Time: at.Add(4 * time.Second), Type: "job", Job: &apitype.Job{ID: 7, Slot: 1, State: "failed", Step: "verify", Error: "checksum mismatch"}},
				{ID: 6, Type: "future"},
			}
			for _, ev := range events {
				if err := writeEvent(b, ev, utc); err != nil {
					return err
				}
			}
			return nil
		}},
		{name: "events-json", write: func(b *bytes.Buffer) error {
			if err := printJSONLine(b, apitype.Event{ID: 1, Time: at, Type: "power", Slot: &apitype.Slot{Slot: 3, Power: "on", Policy: "last-state"}}); err != nil {
				return err
			}
			return printJSONLine(b, apitype.Event{ID: 2, Time: at, Type: "job", Job: &apitype.Job{ID: 7, Slot: 1, State: "queued", Created: at}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, tt.write(&b))
			golden(t, tt.name, b.Bytes())
		})
	}
}

// TestCommandTree pins the command tree, with each command's arguments
// and flags.
func TestCommandTree(t *testing.T) {
	root := newRoot(&env{loc: time.UTC})
	var b strings.Builder
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		b.WriteString(c.UseLine() + "\n")
		if !c.HasParent() {
			b.WriteString(c.PersistentFlags().FlagUsages())
		}
		b.WriteString(c.LocalNonPersistentFlags().FlagUsages())
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	golden(t, "commands", []byte(b.String()))
}
