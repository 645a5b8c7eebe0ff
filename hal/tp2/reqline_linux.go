//go:build linux

package tp2

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
	"periph.io/x/conn/v3/gpio"
)

// gpioV2LineFlagOutput is GPIO_V2_LINE_FLAG_OUTPUT of the kernel's
// include/uapi/linux/gpio.h (golang.org/x/sys has the ioctls, not the
// flags).
const gpioV2LineFlagOutput = 1 << 3

// cdevChip is a GPIO character device, /dev/gpiochipN.
type cdevChip struct {
	path string
}

var _ outputRequester = cdevChip{}

// RequestOutput requests the line with GPIO_V2_GET_LINE_IOCTL as an output
// and its initial value in the same call, so the kernel switches it to an
// output already driving initial. The line stays requested until the
// process exits; the kernel then keeps its level.
func (c cdevChip) RequestOutput(offset int, initial gpio.Level) (outputLine, error) {
	f, err := os.Open(c.path)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the request's own descriptor outlives the chip's
	var req unix.GPIOV2LineRequest
	req.Offsets[0] = uint32(offset)
	req.Num_lines = 1
	copy(req.Consumer[:], "bmcd")
	req.Config.Flags = gpioV2LineFlagOutput
	req.Config.Num_attrs = 1
	req.Config.Attrs[0].Attr.Id = unix.GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES
	req.Config.Attrs[0].Attr.Flags = levelBit(initial) // the attribute's values
	req.Config.Attrs[0].Mask = 1
	if err := ioctl(f.Fd(), unix.GPIO_V2_GET_LINE_IOCTL, unsafe.Pointer(&req)); err != nil {
		return nil, fmt.Errorf("%s: %w", c.path, err)
	}
	return cdevLine{fd: uintptr(req.Fd)}, nil
}

// cdevLine is a requested line's descriptor.
type cdevLine struct {
	fd uintptr
}

// Set writes the line's level with GPIO_V2_LINE_SET_VALUES_IOCTL.
func (l cdevLine) Set(level gpio.Level) error {
	v := unix.GPIOV2LineValues{Bits: levelBit(level), Mask: 1}
	return ioctl(l.fd, unix.GPIO_V2_LINE_SET_VALUES_IOCTL, unsafe.Pointer(&v))
}

func levelBit(l gpio.Level) uint64 {
	if l {
		return 1
	}
	return 0
}
