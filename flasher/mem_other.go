//go:build !linux

package flasher

func allocBuffer(n int) ([]byte, error) { return alignedSlice(n, alignment), nil }

func freeBuffer([]byte) {}
