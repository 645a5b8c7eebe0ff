package flasher

import (
	"os"

	"golang.org/x/sys/unix"
)

// blockingPipe returns a pipe whose ends block in read(2) and write(2)
// rather than going through the runtime's poller.
func blockingPipe() (r, w *os.File, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, os.NewSyscallError("pipe2", err)
	}
	// A bigger pipe lets xz run ahead while the writer waits on the disk.
	_, _ = unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, 1<<20)
	return os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1"), nil
}
