package tp2

import (
	"sync"

	"periph.io/x/conn/v3/gpio"
)

// assertLevel is the level that asserts (on) or deasserts (off) a line.
func assertLevel(on, activeLow bool) gpio.Level {
	return gpio.Level(on != activeLow)
}

// isAsserted says whether level l asserts a line.
func isAsserted(l gpio.Level, activeLow bool) bool {
	return bool(l) != activeLow
}

// drivenLeveler is implemented by lines that know their level without
// reading the pin: the level a drivenLine last drove, or what a read-only
// check line measured. ok is false while the level is not known.
type drivenLeveler interface {
	drivenLevel() (l gpio.Level, ok bool)
}

// readLevel returns a line's level where the line knows it (see
// drivenLeveler). The lines are gpio.PinOut, which has no Read: a line
// that does not know its level is reported unknown, never read in place.
func readLevel(p gpio.PinOut) (gpio.Level, bool) {
	if d, ok := p.(drivenLeveler); ok {
		return d.drivenLevel()
	}
	return gpio.Low, false
}

// drivenLine wraps a kernel output line so that the board can learn its
// level without touching the pin. Open wraps every line in one, because
// reading the pin itself is wrong twice over:
//
//   - periph's gpioioctl.GPIOLine.Read (host/v3 v3.8.5, gpio.go) turns a
//     line last used as an output into an input with a pull-up before
//     reading it. On nodeN-en that would switch the node off; on a mux
//     line it would reroute USB.
//   - v2.5's nodeN-en lines are outputs of a gpio-latch, which mainline
//     cannot read back at all; only the vendor's patched driver can.
//
// The line is requested by this process, so nothing else can change it:
// the level last written successfully is the level on the line. Before the
// first write, or after a failed one, the level is unknown.
type drivenLine struct {
	gpio.PinOut

	mu    sync.Mutex
	level gpio.Level
	known bool
}

// Out drives the line and remembers the level once the write succeeded.
func (d *drivenLine) Out(l gpio.Level) error {
	err := d.PinOut.Out(l)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.level, d.known = l, err == nil
	return err
}

// drivenLevel returns the level last driven; ok is false before the first
// write and after a failed one.
func (d *drivenLine) drivenLevel() (gpio.Level, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.level, d.known
}

var (
	_ gpio.PinOut   = (*drivenLine)(nil)
	_ drivenLeveler = (*drivenLine)(nil)
)
