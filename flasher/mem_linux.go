package flasher

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// allocBuffer maps n bytes of anonymous memory, page aligned as O_DIRECT
// wants, outside the Go heap: freeBuffer gives it back to the kernel at
// once, so the daemon's RSS drops when a flash ends.
func allocBuffer(n int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("allocate %d-byte buffer: %w", n, err)
	}
	return b, nil
}

func freeBuffer(b []byte) { _ = unix.Munmap(b) }
