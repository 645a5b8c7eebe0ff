package tp2

import (
	"context"
	"errors"
	"fmt"

	"periph.io/x/conn/v3/gpio"
)

// ErrReadOnly is returned by every write to a board opened with
// OpenReadOnly.
var ErrReadOnly = errors.New("tp2: opened read-only for a check")

// roRegulator is a supply that can be read back but never switched.
type roRegulator struct {
	Regulator
}

func (r roRegulator) SetEnabled(context.Context, bool) error {
	return fmt.Errorf("switch supply: %w", ErrReadOnly)
}

// lineFlags are the GPIO v2 line flags of the kernel's uAPI
// (linux/gpio.h, enum gpio_v2_line_flag) that a check reports.
const (
	lineFlagUsed      = 1 << 0
	lineFlagActiveLow = 1 << 1
	lineFlagInput     = 1 << 2
	lineFlagOutput    = 1 << 3
)

// describeLine says what the kernel's line info tells: the direction,
// and who holds the line, if anyone (held).
func describeLine(flags uint64, consumer string) (note string, held bool) {
	dir := "direction not set"
	switch {
	case flags&lineFlagOutput != 0:
		dir = "output"
	case flags&lineFlagInput != 0:
		dir = "input"
	}
	if flags&lineFlagActiveLow != 0 {
		dir += ", active low"
	}
	if flags&lineFlagUsed == 0 {
		return dir + ", free", false
	}
	if consumer == "" {
		consumer = "the kernel"
	}
	return fmt.Sprintf("%s, held by %q: a bmcd or another program is running, or a kernel driver owns the line; level not read", dir, consumer), true
}

// missingPin stands in for a line the kernel does not have, so that the
// constructors accept the lines and the probe reports the line missing.
type missingPin struct{ roPin }

func (*missingPin) inspect() (gpio.Level, bool, string, bool) {
	return gpio.Low, false, "line not found", false
}

func (*missingPin) drivenLevel() (gpio.Level, bool) { return gpio.Low, false }

// lineNote completes a line's note with why its level could not be read.
func lineNote(note string, err error) string {
	switch {
	case err == nil:
		return note
	case note == "":
		return fmt.Sprintf("level not readable: %v", err)
	}
	return fmt.Sprintf("%s; level not readable: %v", note, err)
}

// roPin is a line of a board opened for a check: it refuses Out and tells
// its measured level through inspect and drivenLevel; see OpenReadOnly.
type roPin struct {
	gpio.PinOut // gpio.INVALID: every method not overridden fails
	name        string
	read        func() (l gpio.Level, ok bool, note string, held bool)
}

func (p *roPin) Name() string   { return p.name }
func (p *roPin) String() string { return p.name }

// Out implements gpio.PinOut by refusing.
func (p *roPin) Out(gpio.Level) error { return fmt.Errorf("set %s: %w", p.name, ErrReadOnly) }

func (p *roPin) inspect() (gpio.Level, bool, string, bool) { return p.read() }

// drivenLevel lets GPIORegulator read a read-only supply line.
func (p *roPin) drivenLevel() (gpio.Level, bool) {
	l, ok, _, _ := p.read()
	return l, ok
}

var (
	_ gpio.PinOut   = (*roPin)(nil)
	_ lineInspector = (*roPin)(nil)
	_ drivenLeveler = (*roPin)(nil)
)
