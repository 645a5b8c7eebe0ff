//go:build !linux

package flasher

import "os"

func blockingPipe() (r, w *os.File, err error) { return os.Pipe() }
