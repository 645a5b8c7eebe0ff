//go:build !linux

package tp2

import (
	"errors"

	"github.com/turingpi-oss/bmcd/hal"
)

// OpenReadOnly is Open without taking the lines; elsewhere than on Linux
// it only fails.
func OpenReadOnly(rev string, opts *Opts) (hal.Board, error) {
	if _, err := revision(rev); err != nil {
		return nil, err
	}
	return nil, errors.New("tp2: the Turing Pi 2 board needs Linux")
}
