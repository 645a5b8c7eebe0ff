package tp2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// transcript is the ordered traffic to the hardware: every line written,
// every supply switched and every wait, from every fake of a rig. Reads
// are not traffic and are not recorded.
type transcript struct {
	mu    sync.Mutex
	lines []string
}

func (t *transcript) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, s)
}

// take returns the transcript so far and starts a new one.
func (t *transcript) take() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.lines
	t.lines = nil
	return l
}

// recPin is a fake line that records each write as "name=Level"; fail,
// if set, makes a write of that level fail.
type recPin struct {
	*gpiotest.Pin
	log  *transcript
	fail func(gpio.Level) error
}

func (p *recPin) Out(l gpio.Level) error {
	if p.fail != nil {
		if err := p.fail(l); err != nil {
			p.log.add(fmt.Sprintf("%s=%s failed", p.N, l))
			return err
		}
	}
	p.log.add(fmt.Sprintf("%s=%s", p.N, l))
	return p.Pin.Out(l)
}

// drivenLevel reports the level on the fake pin, which a test may set
// directly, as a line whose level is measured (like a check's roPin).
func (p *recPin) drivenLevel() (gpio.Level, bool) { return p.Pin.Read(), true }

var _ drivenLeveler = (*recPin)(nil)

// fakeReg is a fake supply that records each switch as "name=on/off".
type fakeReg struct {
	name string
	log  *transcript

	mu       sync.Mutex
	on       bool
	failOn   error // SetEnabled(true) fails
	failRead error
	// check, if set, runs before each switch, to assert invariants.
	check func(on bool)
}

func (r *fakeReg) SetEnabled(_ context.Context, on bool) error {
	if r.check != nil {
		r.check(on)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if on && r.failOn != nil {
		r.log.add(r.name + "=on failed")
		return r.failOn
	}
	r.on = on
	r.log.add(r.name + "=" + onOff(on))
	return nil
}

func (r *fakeReg) Enabled(context.Context) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failRead != nil {
		return false, r.failRead
	}
	return r.on, nil
}

func (r *fakeReg) isOn() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.on
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// testClock records each wait as "sleep 100ms" and fires at once, unless
// hook says otherwise (hook may cancel a context, to end a wait).
type testClock struct {
	clockwork.Clock
	log  *transcript
	hook func(d time.Duration) (fire bool)
}

func (c *testClock) After(d time.Duration) <-chan time.Time {
	c.log.add("sleep " + d.String())
	ch := make(chan time.Time, 1)
	if c.hook == nil || c.hook(d) {
		ch <- c.Now()
	}
	return ch
}

// rig is a complete fake Turing Pi 2: every line a recPin and every supply
// a fakeReg, all off, recording into one transcript.
type rig struct {
	log   *transcript
	pins  map[string]*recPin
	regs  map[string]*fakeReg
	clock *testClock
	lines Lines
	// kernelPSU: the board under test has no PSU line (v25 without PSU).
	kernelPSU bool
}

// newRig returns a rig whose node lines assert Low (activeLow, the raw
// pins) or High (the kernel's named lines).
func newRig(t *testing.T, activeLow bool) *rig {
	t.Helper()
	r := &rig{
		log:  &transcript{},
		pins: map[string]*recPin{},
		regs: map[string]*fakeReg{},
	}
	r.clock = &testClock{Clock: clockwork.NewFakeClock(), log: r.log}
	pin := func(name string, l gpio.Level) *recPin {
		p := &recPin{Pin: &gpiotest.Pin{N: name, L: l}, log: r.log}
		r.pins[name] = p
		return p
	}
	reg := func(name string) *fakeReg {
		g := &fakeReg{name: name, log: r.log}
		r.regs[name] = g
		return g
	}
	deasserted := assertLevel(false, activeLow)
	r.lines.ActiveLow = activeLow
	for i := range Slots {
		s := i + 1
		r.lines.En[i] = pin(enName(s), deasserted)
		r.lines.RPIBoot[i] = pin(rpibootName(s), deasserted)
		r.lines.USBOTGDev[i] = pin(otgName(s), gpio.High)
		r.lines.Power[i] = reg(powerName(s))
	}
	psu := reg(psuName)
	r.lines.PSU = psu
	r.lines.USBSel1 = pin("usb-sel1", gpio.Low)
	r.lines.USBOE1 = pin("usb-oe1", gpio.Low)
	r.lines.USBSel2 = pin("usb-sel2", gpio.High)
	r.lines.USBOE2 = pin("usb-oe2", gpio.High)
	r.lines.USBRoute = pin(routeName, gpio.Low)
	r.lines.USBVBUS = GPIORegulator{Pin: pin("usb-vbus", gpio.High), ActiveLow: true}
	r.lines.Node1USBOutput = pin(node1OutName, gpio.Low)
	r.lines.Node1USBSource = pin(node1SourceName, gpio.Low)

	// The PSU is never off under a slot that is on, and no slot is ever
	// switched on while the PSU is off.
	psu.check = func(on bool) {
		for i := range Slots {
			if !on && r.regs[powerName(i+1)].isOn() {
				t.Errorf("ATX PSU switched off while slot %d is on", i+1)
			}
		}
	}
	for i := range Slots {
		r.regs[powerName(i+1)].check = func(on bool) {
			if on && !r.kernelPSU && !psu.isOn() {
				t.Errorf("slot %d switched on while the ATX PSU is off", i+1)
			}
		}
	}
	return r
}

func (r *rig) opts(t *testing.T) *Opts {
	return &Opts{Clock: r.clock, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
}

func (r *rig) v24(t *testing.T) *BoardV24 {
	t.Helper()
	b, err := NewV24(r.lines, r.opts(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// v25 returns a v2.5 board on the rig, with the PSU left to the kernel
// (nil) as on the real board unless withPSU.
func (r *rig) v25(t *testing.T, withPSU bool) *BoardV25 {
	t.Helper()
	lines := r.lines
	if !withPSU {
		lines.PSU, r.kernelPSU = nil, true
	}
	b, err := NewV25(lines, r.opts(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var errBoom = errors.New("boom")
