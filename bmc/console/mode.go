package console

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits and defaults of [Mode].
const (
	// MinBaud and MaxBaud bound Mode.Baud.
	MinBaud = 50
	MaxBaud = 4000000

	// DefaultBaud, DefaultDataBits, DefaultParity and DefaultStopBits are
	// the line settings used for the zero fields of Config.Mode (115200 8N1).
	DefaultBaud     = 115200
	DefaultDataBits = 8
	DefaultParity   = "none"
	DefaultStopBits = "1"
)

// DefaultMode is 115200 8N1.
func DefaultMode() Mode {
	return Mode{Baud: DefaultBaud, DataBits: DefaultDataBits, Parity: DefaultParity, StopBits: DefaultStopBits}
}

// Mode is a UART's line settings. Zero fields mean "unchanged" in
// [Mode.Merge] and the defaults (115200 8N1) in [New].
type Mode struct {
	Baud     int    // 50..4000000
	DataBits int    // 5..8
	Parity   string // "none", "odd", "even", "mark", "space"
	StopBits string // "1", "1.5", "2"
}

// parities maps Parity names to their letter in the "8N1" notation.
var parities = map[string]byte{
	"none":  'N',
	"odd":   'O',
	"even":  'E',
	"mark":  'M',
	"space": 'S',
}

// stopBits are the StopBits names.
var stopBits = map[string]bool{"1": true, "1.5": true, "2": true}

// Validate reports whether the set (non-zero) fields of m are acceptable.
// Its error wraps [ErrInvalidMode] and names the bad field. A zero field
// means "not set" and is accepted; [Console.SetMode] and [New] fill zero
// fields before they validate, so a mode that reaches a port is complete.
func (m Mode) Validate() error {
	if m.Baud != 0 && (m.Baud < MinBaud || m.Baud > MaxBaud) {
		return fmt.Errorf("%w: baud %d not in %d..%d", ErrInvalidMode, m.Baud, MinBaud, MaxBaud)
	}
	if m.DataBits != 0 && (m.DataBits < 5 || m.DataBits > 8) {
		return fmt.Errorf("%w: data bits %d not in 5..8", ErrInvalidMode, m.DataBits)
	}
	if _, ok := parities[m.Parity]; m.Parity != "" && !ok {
		return fmt.Errorf("%w: parity %q not one of none, odd, even, mark, space", ErrInvalidMode, m.Parity)
	}
	if _, ok := stopBits[m.StopBits]; m.StopBits != "" && !ok {
		return fmt.Errorf("%w: stop bits %q not one of 1, 1.5, 2", ErrInvalidMode, m.StopBits)
	}
	return nil
}

// Merge returns m with the non-zero fields of change overriding m's.
func (m Mode) Merge(change Mode) Mode {
	if change.Baud != 0 {
		m.Baud = change.Baud
	}
	if change.DataBits != 0 {
		m.DataBits = change.DataBits
	}
	if change.Parity != "" {
		m.Parity = change.Parity
	}
	if change.StopBits != "" {
		m.StopBits = change.StopBits
	}
	return m
}

// String formats m the usual way: "115200 8N1", "1500000 8E2",
// "9600 7O1.5". Unset fields print as "?" ("9600 ???" for Mode{Baud: 9600}).
func (m Mode) String() string {
	var b strings.Builder
	if m.Baud != 0 {
		b.WriteString(strconv.Itoa(m.Baud))
	} else {
		b.WriteByte('?')
	}
	b.WriteByte(' ')
	if m.DataBits != 0 {
		b.WriteString(strconv.Itoa(m.DataBits))
	} else {
		b.WriteByte('?')
	}
	if p, ok := parities[m.Parity]; ok {
		b.WriteByte(p)
	} else {
		b.WriteByte('?')
	}
	if m.StopBits != "" {
		b.WriteString(m.StopBits)
	} else {
		b.WriteByte('?')
	}
	return b.String()
}

// ParseMode parses line settings written as "1500000" (baud only, the other
// fields zero), "115200 8N1", "9600 7E2" or "9600 7O1.5", or the frame part
// alone ("8N1"). Parity letters are N, O, E, M, S (either case). The result
// is validated; its error wraps [ErrInvalidMode].
func ParseMode(s string) (Mode, error) {
	var m Mode
	fields := strings.Fields(s)
	if len(fields) == 0 || len(fields) > 2 {
		return Mode{}, fmt.Errorf("%w: %q: want \"<baud>\", \"<baud> <bits><parity><stop>\" or \"<bits><parity><stop>\"", ErrInvalidMode, s)
	}
	frame := ""
	switch {
	case len(fields) == 2:
		frame = fields[1]
		fallthrough
	case isDigits(fields[0]):
		baud, err := strconv.Atoi(fields[0])
		if err != nil || baud == 0 {
			return Mode{}, fmt.Errorf("%w: baud %q", ErrInvalidMode, fields[0])
		}
		m.Baud = baud
	default:
		frame = fields[0]
	}
	if frame != "" {
		if len(frame) < 3 || frame[0] < '5' || frame[0] > '8' {
			return Mode{}, fmt.Errorf("%w: frame %q: want e.g. 8N1", ErrInvalidMode, frame)
		}
		m.DataBits = int(frame[0] - '0')
		m.Parity = ""
		for name, p := range parities {
			if p == frame[1] || p+('a'-'A') == frame[1] {
				m.Parity = name
			}
		}
		if m.Parity == "" {
			return Mode{}, fmt.Errorf("%w: parity %q in %q", ErrInvalidMode, frame[1:2], frame)
		}
		m.StopBits = frame[2:]
		if _, ok := stopBits[m.StopBits]; !ok {
			return Mode{}, fmt.Errorf("%w: stop bits %q in %q", ErrInvalidMode, m.StopBits, frame)
		}
	}
	if err := m.Validate(); err != nil {
		return Mode{}, err
	}
	return m, nil
}

// isDigits reports whether s is a non-empty string of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
