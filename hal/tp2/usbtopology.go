package tp2

import "github.com/turingpi-oss/bmcd/hal"

var (
	_ hal.USBTopology = (*BoardV24)(nil)
	_ hal.USBTopology = (*BoardV25)(nil)
)

// USBTopology implements hal.USBTopology: the v2.4's multiplexer connects
// one slot at a time.
func (*BoardV24) USBTopology() hal.USBLayout { return usbLayout(true) }

// USBTopology implements hal.USBTopology: the v2.5's nodes each sit on a
// port of a Genesys Logic GL850G hub (05e3:0608).
func (*BoardV25) USBTopology() hal.USBLayout { return usbLayout(false) }

// USBLayoutOf is the USB topology of revision rev, for a check of a board
// whose lines could not be opened (its hub is still on the bus).
func USBLayoutOf(rev string) (hal.USBLayout, error) {
	v24, err := revision(rev)
	if err != nil {
		return hal.USBLayout{}, err
	}
	return usbLayout(v24), nil
}

func usbLayout(v24 bool) hal.USBLayout {
	if v24 {
		return hal.USBLayout{}
	}
	return hal.USBLayout{ParallelFlash: true, Hub: &[2]uint16{0x05e3, 0x0608}}
}
