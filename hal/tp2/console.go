package tp2

import (
	"fmt"

	"github.com/turingpi-oss/bmcd/hal"
)

// consoleBaud is the rate of the Raspberry Pi and Jetson firmware's
// serial console; Rockchip modules use 1,500,000 (set it in the config).
const consoleBaud = 115200

// ConsolePorts implements hal.ConsoleWiring: node N's UART is the T113's
// /dev/ttySN (reference turingpi.md §3.5).
func (b *board) ConsolePorts() []hal.ConsolePort {
	ports := make([]hal.ConsolePort, Slots)
	for i := range ports {
		ports[i] = hal.ConsolePort{Slot: i + 1, Device: fmt.Sprintf("/dev/ttyS%d", i+1), Baud: consoleBaud}
	}
	return ports
}

var (
	_ hal.ConsoleWiring = (*BoardV24)(nil)
	_ hal.ConsoleWiring = (*BoardV25)(nil)
)
