//go:build !linux

package tp2

import (
	"errors"

	"github.com/turingpi-oss/bmcd/hal"
)

// Open resolves the board's lines from the kernel. The lines are Linux
// GPIO character devices and sysfs files, so elsewhere Open only fails;
// NewV24 and NewV25 work everywhere.
func Open(rev string, opts *Opts) (hal.Board, error) {
	if _, err := revision(rev); err != nil {
		return nil, err
	}
	return nil, errors.New("tp2: the Turing Pi 2 board needs Linux")
}
