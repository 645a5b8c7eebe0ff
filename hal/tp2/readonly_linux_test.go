//go:build linux

package tp2

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// The ioctl numbers encode the size of the struct they pass; the structs
// must have the kernel's sizes (linux/gpio.h: 256, 592 and 16 bytes) on
// every architecture, the controller's 32-bit ARM included.
func TestGPIOIoctlSizes(t *testing.T) {
	t.Parallel()
	size := func(req uint) uintptr { return uintptr(req>>16) & 0x3fff }
	assert.Equal(t, uintptr(256), unsafe.Sizeof(unix.GPIOV2LineInfo{}))
	assert.Equal(t, size(unix.GPIO_V2_GET_LINEINFO_IOCTL), unsafe.Sizeof(unix.GPIOV2LineInfo{}))
	assert.Equal(t, uintptr(592), unsafe.Sizeof(unix.GPIOV2LineRequest{}))
	assert.Equal(t, size(unix.GPIO_V2_GET_LINE_IOCTL), unsafe.Sizeof(unix.GPIOV2LineRequest{}))
	assert.Equal(t, size(unix.GPIO_V2_LINE_GET_VALUES_IOCTL), unsafe.Sizeof(unix.GPIOV2LineValues{}))
}
