//go:build !linux && !darwin

package simconsole

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

func openPTY() (master, slave *os.File, path string, err error) {
	return nil, nil, "", fmt.Errorf("pseudo-terminals on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func nonblockingWriter(f *os.File) func([]byte) (int, error) {
	return f.Write
}
