package tp2

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/turingpi-oss/bmcd/hal"
)

// kernelChip is a GPIO chip as the kernel's character device presents it:
// each line keeps the level it drives across processes, a request as an
// output drives the request's initial value at once, and each write
// drives its level. It records every level a line is driven to, as
// "name=Level", so a glitch shows as a level in the transcript.
type kernelChip struct {
	log   *transcript
	mu    sync.Mutex
	names map[int]string
	held  map[int]bool
}

func (c *kernelChip) RequestOutput(offset int, initial gpio.Level) (outputLine, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[offset] {
		return nil, fmt.Errorf("line %d busy", offset)
	}
	c.held[offset] = true
	c.log.add(fmt.Sprintf("%s=%s requested", c.names[offset], initial))
	return kernelOutput{c, offset}, nil
}

type kernelOutput struct {
	c      *kernelChip
	offset int
}

func (o kernelOutput) Set(l gpio.Level) error {
	o.c.log.add(fmt.Sprintf("%s=%s", o.c.names[o.offset], l))
	return nil
}

// kernelRig is a rig whose GPIO lines are requested from a kernelChip, as
// Open builds them, instead of the rig's recording pins.
func kernelRig(t *testing.T) (*rig, *kernelChip) {
	r := newRig(t, false) // the kernel's named lines
	chip := &kernelChip{log: r.log, names: map[int]string{}, held: map[int]bool{}}
	n := 0
	line := func(p gpio.PinOut) gpio.PinOut {
		if p == nil {
			return nil
		}
		n++
		chip.names[n] = p.Name()
		return &drivenLine{PinOut: &reqLine{PinOut: &gpiotest.Pin{N: p.Name()}, chip: chip, offset: n}}
	}
	l := &r.lines
	for i := range Slots {
		l.En[i], l.RPIBoot[i], l.USBOTGDev[i] = line(l.En[i]), line(l.RPIBoot[i]), line(l.USBOTGDev[i])
	}
	l.USBSel1, l.USBOE1, l.USBSel2, l.USBOE2 = line(l.USBSel1), line(l.USBOE1), line(l.USBSel2), line(l.USBOE2)
	l.USBRoute = line(l.USBRoute)
	l.Node1USBOutput, l.Node1USBSource = line(l.Node1USBOutput), line(l.Node1USBSource)
	l.USBVBUS = GPIORegulator{Pin: line(r.pins["usb-vbus"]), ActiveLow: true}
	return r, chip
}

func TestReqLine(t *testing.T) {
	r, _ := kernelRig(t)
	en := r.lines.En[2]
	l, known := readLevel(en)
	assert.False(t, known, "level unknown before the first write")
	assert.Equal(t, gpio.Low, l)
	require.NoError(t, en.Out(gpio.High))
	require.NoError(t, en.Out(gpio.Low))
	assert.Equal(t, []string{"node3-en=High requested", "node3-en=High", "node3-en=Low"}, r.log.take(),
		"requested once, with the first level as its initial value")
	l, known = readLevel(en)
	assert.True(t, known)
	assert.Equal(t, gpio.Low, l)
}

// Opening a board while a node runs (bmcd restarted) drives the USB lines
// to their defaults but never its enable line, and powering it "on" again
// writes nothing; a node switched on for the first time has its enable
// line requested already at the enabled level. No enable line ever sees
// a disabling level.
func TestOpenWithNodeOnLeavesItsEnableAlone(t *testing.T) {
	for _, v25 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v2.5=%v", v25), func(t *testing.T) {
			ctx := context.Background()
			r, _ := kernelRig(t)
			r.regs[psuName].on = true
			r.regs[powerName(1)].on = true // left on by the previous bmcd
			var b interface {
				hal.Board
				SetUSBDefaults(context.Context) error
			} = r.v24(t)
			if v25 {
				b = r.v25(t, true)
			}
			require.NoError(t, b.SetUSBDefaults(ctx)) // what Open does
			st, err := b.PowerState(ctx, 1)
			require.NoError(t, err)
			assert.Equal(t, hal.PowerOn, st)
			require.NoError(t, b.SetPower(ctx, 1, true))
			require.NoError(t, b.SetPower(ctx, 2, true))

			log := r.log.take()
			var en []string
			for _, s := range log {
				if strings.Contains(s, "-en=") {
					en = append(en, s)
				}
			}
			assert.Equal(t, []string{"node2-en=High requested", "node2-en=High"}, en, "enable lines in %q", log)
			assert.NotContains(t, log, "node1-power=on", "slot 1's regulator rewritten")
		})
	}
}

func TestPowerOnWhenOn(t *testing.T) {
	tests := []struct {
		name    string
		regOn   bool
		enabled bool
		regErr  error
		want    []string
		wantErr string
	}{
		{name: "on and enabled: nothing written", regOn: true, enabled: true},
		{name: "regulator on, node held disabled: enabled", regOn: true,
			want: []string{"node2-power=on", "sleep 100ms", "node2-en=Low"}},
		{name: "regulator unreadable: nothing written", regOn: true, enabled: true, regErr: errBoom,
			wantErr: "tp2: slot 2 power on: read node2-power: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, true)
			r.regs[psuName].on = true
			r.regs[powerName(2)].on = tt.regOn
			r.regs[powerName(2)].failRead = tt.regErr
			if tt.enabled {
				r.pins[enName(2)].L = gpio.Low
			}
			err := r.v24(t).SetPower(context.Background(), 2, true)
			if tt.wantErr != "" {
				assert.EqualError(t, err, tt.wantErr)
			} else {
				assert.NoError(t, err)
			}
			assert.Equal(t, tt.want, r.log.take())
		})
	}
}
