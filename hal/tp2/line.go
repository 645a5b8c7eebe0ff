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

// drivenLeveler is implemented by lines that know the level they drive
// without reading the pin (drivenLine). ok is false while the level is not
// known.
type drivenLeveler interface {
	drivenLevel() (l gpio.Level, ok bool)
}

// readLevel returns a line's level: the level it drives where the line
// knows it, else what the pin reads.
func readLevel(p gpio.PinIO) (gpio.Level, bool) {
	if d, ok := p.(drivenLeveler); ok {
		return d.drivenLevel()
	}
	return p.Read(), true
}

// drivenLine wraps a kernel output line so that reading it back never
// touches the pin. Open wraps every line in one:
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
	gpio.PinIO

	mu    sync.Mutex
	level gpio.Level
	known bool
}

// Out drives the line and remembers the level once the write succeeded.
func (d *drivenLine) Out(l gpio.Level) error {
	err := d.PinIO.Out(l)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.level, d.known = l, err == nil
	return err
}

// Read returns the level last driven, Low while unknown; it never reads
// the pin. The board uses drivenLevel, which tells the two apart.
func (d *drivenLine) Read() gpio.Level {
	l, _ := d.drivenLevel()
	return l
}

func (d *drivenLine) drivenLevel() (gpio.Level, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.level, d.known
}
