package console

import "go.bug.st/serial"

// The real port opener: the only place that speaks go.bug.st/serial, so
// the rest of the package (and its fakes) deal in [Mode].

// serialParities and serialStopBits are go.bug.st/serial's values of the
// names in parities and stopBits.
var (
	serialParities = map[string]serial.Parity{
		"none":  serial.NoParity,
		"odd":   serial.OddParity,
		"even":  serial.EvenParity,
		"mark":  serial.MarkParity,
		"space": serial.SpaceParity,
	}
	serialStopBits = map[string]serial.StopBits{
		"1":   serial.OneStopBit,
		"1.5": serial.OnePointFiveStopBits,
		"2":   serial.TwoStopBits,
	}
)

// serialMode converts a complete, valid m to go.bug.st/serial's Mode.
func serialMode(m Mode) *serial.Mode {
	return &serial.Mode{
		BaudRate: m.Baud,
		DataBits: m.DataBits,
		Parity:   serialParities[m.Parity],
		StopBits: serialStopBits[m.StopBits],
	}
}

// serialPort is a go.bug.st/serial port behind the Port seam.
type serialPort struct{ serial.Port }

var _ Port = serialPort{}

// SetMode implements Port.
func (p serialPort) SetMode(m Mode) error { return p.Port.SetMode(serialMode(m)) }

// openSerial is the default OpenFunc.
func openSerial(device string, mode Mode) (Port, error) {
	p, err := serial.Open(device, serialMode(mode))
	if err != nil {
		return nil, err
	}
	return serialPort{p}, nil
}
