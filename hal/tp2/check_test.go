package tp2

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"

	"github.com/turingpi-oss/bmcd/hal"
)

// findings indexes a report by name.
func findings(fs []hal.Finding) map[string]hal.Finding {
	m := map[string]hal.Finding{}
	for _, f := range fs {
		m[f.Name] = f
	}
	return m
}

// The probe reads only: the rig records every line written and every
// supply switched, and after probing its transcript is empty.
func TestProbeReadsOnly(t *testing.T) {
	t.Parallel()
	for _, activeLow := range []bool{false, true} {
		r := newRig(t, activeLow)
		// Slot 2 running: regulator on, enable asserted; the mux on slot 3.
		r.regs[powerName(2)].on = true
		r.pins[enName(2)].L = assertLevel(true, activeLow)
		for i, l := range muxCode(3) {
			r.pins[[]string{"usb-sel1", "usb-oe1", "usb-sel2", "usb-oe2"}[i]].L = l
		}
		for name, b := range map[string]hal.Prober{"v2.4": r.v24(t), "v2.5": r.v25(t, false)} {
			got := findings(b.Probe(context.Background()))
			assert.Empty(t, r.log.take(), "%s: probing wrote to the hardware", name)
			assert.Equal(t, "enabled", got[powerName(2)].Detail)
			assert.Equal(t, "disabled", got[powerName(1)].Detail)
			assert.Contains(t, got[enName(2)].Detail, "asserted: node enabled")
			assert.Contains(t, got[enName(1)].Detail, "deasserted")
			assert.Contains(t, got[rpibootName(4)].Detail, "deasserted")
			assert.Equal(t, hal.CheckOK, got[routeName].Status)
			if name == "v2.4" {
				assert.Equal(t, "selects slot 3", got["usb mux"].Detail)
				assert.Equal(t, "disabled", got[vbusName].Detail, "PG4 High: the USB-A port is off")
			} else {
				assert.NotContains(t, got, "usb mux")
				assert.Contains(t, got["node1-usb-output"].Detail, "Low")
				assert.Contains(t, got["node1-usb-source"].Detail, "Low")
			}
		}
	}
}

func TestProbeUnknownAndMissing(t *testing.T) {
	t.Parallel()
	r := newRig(t, false)
	lines := r.lines
	// A kernel line not driven since start: its level is not known.
	lines.En[0] = &drivenLine{PinOut: r.pins[enName(1)]}
	lines.RPIBoot[1] = nil
	r.regs[powerName(3)].failRead = errors.New("read node3-power: permission denied")
	got := findings(ProbeLines(context.Background(), lines))
	assert.Empty(t, r.log.take())
	assert.Equal(t, hal.CheckSkip, got[enName(1)].Status)
	assert.Equal(t, hal.CheckFail, got[rpibootName(2)].Status)
	assert.Equal(t, hal.CheckFail, got[powerName(3)].Status)
	// A driven line reports what it drives.
	require.NoError(t, lines.En[0].Out(gpio.High))
	r.log.take()
	got = findings(ProbeLines(context.Background(), lines))
	assert.Contains(t, got[enName(1)].Detail, "High (asserted")
	assert.Empty(t, r.log.take())
}
