package tp2

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"

	"github.com/turingpi-oss/bmcd/hal"
)

func TestDescribeLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		flags    uint64
		consumer string
		want     string
		held     bool
	}{
		{"free output", lineFlagOutput, "", "output, free", false},
		{"free input", lineFlagInput | lineFlagActiveLow, "", "input, active low, free", false},
		{"held by bmcd", lineFlagUsed | lineFlagOutput, "bmcd@812", `output, held by "bmcd@812"`, true},
		{"held by a driver", lineFlagUsed | lineFlagOutput, "", `held by "the kernel"`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			note, held := describeLine(tc.flags, tc.consumer)
			assert.Contains(t, note, tc.want)
			assert.Equal(t, tc.held, held)
		})
	}
}

// roLines is a rig's lines seen read-only: each pin reads the rig's
// level through an roPin, each supply is an roRegulator, and node 1's
// enable is held by a running bmcd.
func roLines(r *rig) Lines {
	ro := func(p gpio.PinOut) gpio.PinOut {
		return &roPin{PinOut: gpio.INVALID, name: p.Name(), read: func() (gpio.Level, bool, string, bool) {
			l, ok := readLevel(p)
			return l, ok, "output, free", false
		}}
	}
	l := r.lines
	for i := range Slots {
		l.En[i], l.RPIBoot[i], l.USBOTGDev[i] = ro(l.En[i]), ro(l.RPIBoot[i]), ro(l.USBOTGDev[i])
		l.Power[i] = roRegulator{l.Power[i]}
	}
	l.En[0] = &roPin{PinOut: gpio.INVALID, name: enName(1), read: func() (gpio.Level, bool, string, bool) {
		return gpio.Low, false, `output, held by "bmcd@812"`, true
	}}
	l.RPIBoot[3] = &missingPin{roPin{PinOut: gpio.INVALID, name: rpibootName(4)}}
	l.USBSel1, l.USBOE1, l.USBSel2, l.USBOE2 = ro(l.USBSel1), ro(l.USBOE1), ro(l.USBSel2), ro(l.USBOE2)
	l.USBRoute = ro(l.USBRoute)
	l.USBVBUS = GPIORegulator{Pin: ro(r.pins["usb-vbus"]), ActiveLow: true}
	l.PSU = roRegulator{l.PSU}
	return l
}

// A board on read-only lines (what OpenReadOnly builds) probes without
// writing and refuses every switch, also writing nothing.
func TestReadOnlyBoard(t *testing.T) {
	t.Parallel()
	r := newRig(t, false)
	b, err := NewV24(roLines(r), r.opts(t))
	require.NoError(t, err)
	got := findings(b.Probe(context.Background()))
	assert.Equal(t, hal.CheckWarn, got[enName(1)].Status)
	assert.Contains(t, got[enName(1)].Detail, "bmcd@812")
	assert.Contains(t, got[enName(2)].Detail, "Low (deasserted); output, free")
	assert.Equal(t, hal.CheckFail, got[rpibootName(4)].Status)
	assert.Equal(t, "selects slot 1", got["usb mux"].Detail)
	assert.Equal(t, "disabled", got[vbusName].Detail)

	ctx := context.Background()
	assert.ErrorIs(t, b.SetPower(ctx, 2, true), ErrReadOnly)
	assert.ErrorIs(t, b.SetUSBBoot(ctx, 2, true), ErrReadOnly)
	assert.ErrorIs(t, b.SetUSB(ctx, hal.USBConfig{Slot: 2}), ErrReadOnly)
	var writes []string
	for _, l := range r.log.take() {
		if l != "sleep 100ms" && l != "sleep 250ms" {
			writes = append(writes, l)
		}
	}
	assert.Empty(t, writes, "a read-only board reached the hardware")
}
