package tp2

import (
	"fmt"
	"sync"

	"periph.io/x/conn/v3/gpio"
)

// outputRequester requests one line of a GPIO chip as an output that
// drives initial from the moment it is requested.
type outputRequester interface {
	RequestOutput(offset int, initial gpio.Level) (outputLine, error)
}

// outputLine is a requested output line.
type outputLine interface {
	Set(l gpio.Level) error
}

// reqLine is a kernel GPIO line that is requested on its first Out, as an
// output whose initial value is that first level, so the line never
// passes through another level on the way. periph's gpioioctl.GPIOLine
// (host/v3 v3.8.5) cannot do this: it requests the line as it is, then
// switches it to an output without an initial value, which the kernel
// drives as 0 until the level is written, a pulse of microseconds that on
// nodeN-en disables a running node.
//
// The level is written once more after the request, because the vendor's
// patched gpio-latch behind v2.5's nodeN-en ignores the initial value
// (its direction_output does not touch the latch, BMC-Firmware
// tp2bmc/patches/linux/0001-regulator-fixed-perserve-boot-state.patch).
//
// The embedded PinOut (periph's line, for its name and number) is never
// driven. reqLine has no Read; drivenLine, which wraps it, knows the level.
type reqLine struct {
	gpio.PinOut
	chip   outputRequester
	offset int

	mu   sync.Mutex
	line outputLine
}

var _ gpio.PinOut = (*reqLine)(nil)

// Out requests the line on first use, then writes l.
func (r *reqLine) Out(l gpio.Level) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.line == nil {
		line, err := r.chip.RequestOutput(r.offset, l)
		if err != nil {
			return fmt.Errorf("request line %d as output %s: %w", r.offset, l, err)
		}
		r.line = line
	}
	return r.line.Set(l)
}
