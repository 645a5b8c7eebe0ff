package flasher

import "unsafe"

// addr is the address of p's first byte, for alignment checks.
func addr(p []byte) uintptr {
	if cap(p) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(unsafe.SliceData(p)))
}
