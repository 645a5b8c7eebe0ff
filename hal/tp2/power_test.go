package tp2

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"

	"github.com/turingpi-oss/bmcd/hal"
)

// lv names the level that asserts (true) or deasserts a node line.
func lv(asserted, activeLow bool) string {
	return assertLevel(asserted, activeLow).String()
}

// v24On is the documented v2.4 power-on sequence of slot s; psu: the ATX
// PSU is switched on first.
func v24On(s int, psu, activeLow bool) []string {
	var want []string
	if psu {
		want = append(want, "atx-psu=on", "sleep 250ms")
	}
	return append(want,
		fmt.Sprintf("node%d-power=on", s),
		"sleep 100ms",
		fmt.Sprintf("node%d-en=%s", s, lv(true, activeLow)),
	)
}

// v24Off is the documented v2.4 power-off sequence of slot s; psu: the
// ATX PSU is switched off last.
func v24Off(s int, psu, activeLow bool) []string {
	want := []string{
		fmt.Sprintf("node%d-en=%s", s, lv(false, activeLow)),
		fmt.Sprintf("node%d-power=off", s),
	}
	if psu {
		want = append(want, "atx-psu=off")
	}
	return want
}

func TestInfo(t *testing.T) {
	r := newRig(t, true)
	assert.Equal(t, hal.Info{Profile: "tp2-v2.4", Model: "Turing Pi 2 (v2.4)", Slots: 4}, r.v24(t).Info())
	assert.Equal(t, hal.Info{Profile: "tp2-v2.5", Model: "Turing Pi 2 (v2.5)", Slots: 4}, r.v25(t, false).Info())
}

func TestNewMissingLines(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Lines)
		v25     bool
		wantErr string
	}{
		{"v2.4 without node3-en", func(l *Lines) { l.En[2] = nil }, false, "tp2: v2.4: missing lines [node3-en]"},
		{"v2.4 without mux and usbotg-dev", func(l *Lines) { l.USBOTGDev[0], l.USBSel2 = nil, nil }, false, "tp2: v2.4: missing lines [node1-usbotg-dev usb-sel2]"},
		{"v2.4 without VBUS", func(l *Lines) { l.USBVBUS = nil }, false, "tp2: v2.4: missing lines [usb-port-power]"},
		{"v2.5 without node4-power", func(l *Lines) { l.Power[3] = nil }, true, "tp2: v2.5: missing lines [node4-power]"},
		{"v2.5 without route", func(l *Lines) { l.USBRoute = nil }, true, "tp2: v2.5: missing lines [usb-switch]"},
		{"v2.5 without node 1's USB switches", func(l *Lines) { l.Node1USBOutput, l.Node1USBSource = nil, nil }, true, "tp2: v2.5: missing lines [node1-usb-output node1-usb-source]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := newRig(t, true).lines
			tt.edit(&lines)
			var err error
			if tt.v25 {
				_, err = NewV25(lines, nil)
			} else {
				_, err = NewV24(lines, nil)
			}
			assert.EqualError(t, err, tt.wantErr)
		})
	}

	t.Run("v2.5 needs neither PSU nor the v2.4 lines", func(t *testing.T) {
		var lines Lines
		full := newRig(t, true).lines
		lines.En, lines.RPIBoot, lines.Power, lines.USBRoute = full.En, full.RPIBoot, full.Power, full.USBRoute
		lines.Node1USBOutput, lines.Node1USBSource = full.Node1USBOutput, full.Node1USBSource
		_, err := NewV25(lines, nil)
		assert.NoError(t, err)
	})
	t.Run("v2.4 needs no PSU", func(t *testing.T) {
		lines := newRig(t, true).lines
		lines.PSU = nil
		_, err := NewV24(lines, nil)
		assert.NoError(t, err)
	})
}

func TestSetPowerV24(t *testing.T) {
	type step struct {
		slot int
		on   bool
	}
	var tests []struct {
		name      string
		activeLow bool
		before    []step // run first, transcript discarded
		do        step
		want      []string
	}
	add := func(name string, activeLow bool, before []step, do step, want []string) {
		tests = append(tests, struct {
			name      string
			activeLow bool
			before    []step
			do        step
			want      []string
		}{name, activeLow, before, do, want})
	}
	for _, activeLow := range []bool{true, false} {
		pol := "named lines"
		if activeLow {
			pol = "raw pins"
		}
		for s := 1; s <= Slots; s++ {
			other := s%Slots + 1
			add(fmt.Sprintf("%s: first slot %d on turns the PSU on", pol, s), activeLow,
				nil, step{s, true}, v24On(s, true, activeLow))
			add(fmt.Sprintf("%s: slot %d on with slot %d on leaves the PSU", pol, s, other), activeLow,
				[]step{{other, true}}, step{s, true}, v24On(s, false, activeLow))
			add(fmt.Sprintf("%s: last slot %d off turns the PSU off", pol, s), activeLow,
				[]step{{s, true}}, step{s, false}, v24Off(s, true, activeLow))
			add(fmt.Sprintf("%s: slot %d off with slot %d on leaves the PSU", pol, s, other), activeLow,
				[]step{{other, true}, {s, true}}, step{s, false}, v24Off(s, false, activeLow))
		}
	}
	add("on again when on writes nothing", true,
		[]step{{2, true}}, step{2, true}, nil)
	add("off when off runs the off sequence", true,
		nil, step{2, false}, v24Off(2, true, true))

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			r := newRig(t, tt.activeLow)
			b := r.v24(t)
			for _, st := range tt.before {
				require.NoError(t, b.SetPower(ctx, st.slot, st.on))
			}
			r.log.take()

			require.NoError(t, b.SetPower(ctx, tt.do.slot, tt.do.on))
			assert.Equal(t, tt.want, r.log.take())

			want := hal.PowerOff
			if tt.do.on {
				want = hal.PowerOn
			}
			got, err := b.PowerState(ctx, tt.do.slot)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			anyOn, err := b.anyOn(ctx)
			require.NoError(t, err)
			assert.Equal(t, anyOn, r.regs[psuName].isOn(), "the PSU is on exactly while a slot is on")
		})
	}
}

func TestSetPowerV25(t *testing.T) {
	tests := []struct {
		name      string
		activeLow bool
		withPSU   bool
		on        bool
		want      []string
	}{
		{"on, kernel PSU, named lines", false, false, true, []string{"node3-power=on", "sleep 100ms", "node3-en=High"}},
		{"off, kernel PSU, named lines", false, false, false, []string{"node3-en=Low", "node3-power=off"}},
		{"on, kernel PSU, raw pins", true, false, true, []string{"node3-power=on", "sleep 100ms", "node3-en=Low"}},
		{"off, kernel PSU, raw pins", true, false, false, []string{"node3-en=High", "node3-power=off"}},
		{"on, PSU line", false, true, true, []string{"atx-psu=on", "sleep 250ms", "node3-power=on", "sleep 100ms", "node3-en=High"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			r := newRig(t, tt.activeLow)
			b := r.v25(t, tt.withPSU)
			if !tt.on {
				require.NoError(t, b.SetPower(ctx, 3, true))
				r.log.take()
			}
			require.NoError(t, b.SetPower(ctx, 3, tt.on))
			assert.Equal(t, tt.want, r.log.take())
			got, err := b.PowerState(ctx, 3)
			require.NoError(t, err)
			assert.Equal(t, tt.on, got == hal.PowerOn)
		})
	}
}

func TestSetPowerOptions(t *testing.T) {
	r := newRig(t, true)
	b, err := NewV24(r.lines, &Opts{Clock: r.clock, SettleDelay: 30 * time.Millisecond, PSUDelay: time.Second})
	require.NoError(t, err)
	require.NoError(t, b.SetPower(context.Background(), 1, true))
	assert.Equal(t, []string{
		"atx-psu=on", "sleep 1s", "node1-power=on", "sleep 30ms", "node1-en=Low",
	}, r.log.take())
}

func TestPowerOnFailure(t *testing.T) {
	tests := []struct {
		name      string
		otherOn   bool // slot 1 is on beforehand
		breakRig  func(r *rig)
		wantErr   string
		want      []string
		wantPSUOn bool
	}{
		{
			name:     "PSU fails",
			breakRig: func(r *rig) { r.regs[psuName].failOn = errBoom },
			wantErr:  "tp2: slot 3 power on: switch atx-psu on: boom",
			want: []string{
				"atx-psu=on failed",
				"node3-en=High", "node3-power=off", "atx-psu=off",
			},
		},
		{
			name:     "slot regulator fails",
			breakRig: func(r *rig) { r.regs["node3-power"].failOn = errBoom },
			wantErr:  "tp2: slot 3 power on: switch node3-power on: boom",
			want: []string{
				"atx-psu=on", "sleep 250ms", "node3-power=on failed",
				"node3-en=High", "node3-power=off", "atx-psu=off",
			},
		},
		{
			name:     "enable fails",
			breakRig: func(r *rig) { r.pins["node3-en"].fail = failLevel(gpio.Low) },
			wantErr:  "tp2: slot 3 power on: set node3-en: boom",
			want: []string{
				"atx-psu=on", "sleep 250ms", "node3-power=on", "sleep 100ms", "node3-en=Low failed",
				"node3-en=High", "node3-power=off", "atx-psu=off",
			},
		},
		{
			name:      "enable fails with another slot on: the PSU stays on",
			otherOn:   true,
			breakRig:  func(r *rig) { r.pins["node3-en"].fail = failLevel(gpio.Low) },
			wantErr:   "tp2: slot 3 power on: set node3-en: boom",
			wantPSUOn: true,
			want: []string{
				"node3-power=on", "sleep 100ms", "node3-en=Low failed",
				"node3-en=High", "node3-power=off",
			},
		},
		{
			name:     "undo fails too",
			breakRig: func(r *rig) { r.pins["node3-en"].fail = func(gpio.Level) error { return errBoom } },
			wantErr:  "tp2: slot 3 power on: set node3-en: boom\nundo: set node3-en: boom",
			want: []string{
				"atx-psu=on", "sleep 250ms", "node3-power=on", "sleep 100ms", "node3-en=Low failed",
				"node3-en=High failed", "node3-power=off", "atx-psu=off",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			r := newRig(t, true)
			b := r.v24(t)
			if tt.otherOn {
				require.NoError(t, b.SetPower(ctx, 1, true))
				r.log.take()
			}
			tt.breakRig(r)

			err := b.SetPower(ctx, 3, true)
			require.EqualError(t, err, tt.wantErr)
			assert.ErrorIs(t, err, errBoom)
			assert.Equal(t, tt.want, r.log.take())

			assert.False(t, r.regs["node3-power"].isOn(), "slot regulator left on")
			assert.Equal(t, tt.wantPSUOn, r.regs[psuName].isOn(), "PSU")
			got, err := b.PowerState(ctx, 3)
			require.NoError(t, err)
			assert.Equal(t, hal.PowerOff, got)
		})
	}
}

func failLevel(l gpio.Level) func(gpio.Level) error {
	return func(w gpio.Level) error {
		if w == l {
			return errBoom
		}
		return nil
	}
}

func TestPowerOnCancelled(t *testing.T) {
	tests := []struct {
		name   string
		cancel string // the wait during which ctx is cancelled
		want   []string
	}{
		{"during the PSU wait", "250ms", []string{
			"atx-psu=on", "sleep 250ms",
			"node3-en=High", "node3-power=off", "atx-psu=off",
		}},
		{"during the regulator settle", "100ms", []string{
			"atx-psu=on", "sleep 250ms", "node3-power=on", "sleep 100ms",
			"node3-en=High", "node3-power=off", "atx-psu=off",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, true)
			b := r.v24(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r.clock.hook = func(d time.Duration) bool {
				if d.String() == tt.cancel {
					cancel()
					return false
				}
				return true
			}
			err := b.SetPower(ctx, 3, true)
			assert.ErrorIs(t, err, context.Canceled)
			assert.ErrorContains(t, err, "tp2: slot 3 power on: wait after")
			assert.Equal(t, tt.want, r.log.take())
			got, err := b.PowerState(context.Background(), 3)
			require.NoError(t, err)
			assert.Equal(t, hal.PowerOff, got)
			assert.False(t, r.regs[psuName].isOn())
		})
	}

	t.Run("already cancelled: nothing happens", func(t *testing.T) {
		r := newRig(t, true)
		b := r.v24(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.ErrorIs(t, b.SetPower(ctx, 3, true), context.Canceled)
		assert.ErrorIs(t, b.SetPower(ctx, 3, false), context.Canceled)
		assert.Empty(t, r.log.take())
	})
}

func TestPowerOffFailureRunsEveryStep(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, true)
	b := r.v24(t)
	require.NoError(t, b.SetPower(ctx, 2, true))
	r.log.take()
	r.pins["node2-en"].fail = failLevel(gpio.High)

	err := b.SetPower(ctx, 2, false)
	assert.EqualError(t, err, "tp2: slot 2 power off: set node2-en: boom")
	assert.Equal(t, []string{"node2-en=High failed", "node2-power=off", "atx-psu=off"}, r.log.take())
	got, err := b.PowerState(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, hal.PowerOff, got)
}

func TestPowerOffUnreadableRegulatorLeavesPSUOn(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, true)
	b := r.v24(t)
	require.NoError(t, b.SetPower(ctx, 2, true))
	r.log.take()
	r.regs["node4-power"].failRead = errBoom

	require.NoError(t, b.SetPower(ctx, 2, false))
	assert.Equal(t, []string{"node2-en=High", "node2-power=off"}, r.log.take())
	assert.True(t, r.regs[psuName].isOn())
}

func TestPowerState(t *testing.T) {
	tests := []struct {
		name      string
		activeLow bool
		regOn     bool
		regErr    error
		en        func(r *rig) gpio.PinOut // nil: the rig's line
		enLevel   gpio.Level
		want      hal.PowerState
		wantErr   bool
	}{
		{name: "regulator on, enabled (raw)", activeLow: true, regOn: true, enLevel: gpio.Low, want: hal.PowerOn},
		{name: "regulator on, enabled (named)", regOn: true, enLevel: gpio.High, want: hal.PowerOn},
		{name: "regulator on, disabled: held off (raw)", activeLow: true, regOn: true, enLevel: gpio.High, want: hal.PowerOff},
		{name: "regulator on, disabled: held off (named)", regOn: true, enLevel: gpio.Low, want: hal.PowerOff},
		{name: "regulator off, enabled", activeLow: true, enLevel: gpio.Low, want: hal.PowerOff},
		{name: "regulator off, disabled", activeLow: true, enLevel: gpio.High, want: hal.PowerOff},
		{name: "regulator unreadable", activeLow: true, regErr: errBoom, enLevel: gpio.Low, want: hal.PowerUnknown, wantErr: true},
		{
			name: "enable never driven, regulator on", regOn: true, want: hal.PowerOn,
			en: func(r *rig) gpio.PinOut { return &drivenLine{PinOut: r.pins["node2-en"]} },
		},
		{
			name: "enable never driven, regulator off", want: hal.PowerOff,
			en: func(r *rig) gpio.PinOut { return &drivenLine{PinOut: r.pins["node2-en"]} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.activeLow)
			r.regs["node2-power"].on = tt.regOn
			r.regs["node2-power"].failRead = tt.regErr
			r.pins["node2-en"].L = tt.enLevel
			if tt.en != nil {
				r.lines.En[1] = tt.en(r)
			}
			for _, b := range []interface {
				PowerState(context.Context, int) (hal.PowerState, error)
			}{r.v24(t), r.v25(t, false)} {
				got, err := b.PowerState(context.Background(), 2)
				if tt.wantErr {
					assert.ErrorIs(t, err, errBoom)
					assert.ErrorContains(t, err, "tp2: slot 2 power state: read node2-power")
				} else {
					assert.NoError(t, err)
				}
				assert.Equal(t, tt.want, got)
			}
			assert.Empty(t, r.log.take(), "reading writes nothing")
		})
	}
}
