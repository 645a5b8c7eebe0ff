package flasher

import "io"

// backgroundPiece is the most a background flash reads from its source
// or its decoder in one system call. A kernel built without preemption
// (PREEMPT_NONE, common on small boards) runs a woken request only when
// the flash's thread leaves the kernel or reaches a resched point, and
// a read from a socket or a pipe copies its whole length without one: a
// 2 MiB buffer is milliseconds of copying on a Cortex-A7. (Writes and
// reads of the target need no cap: a block device opened with O_DIRECT
// is written by DMA, and the file system paths reschedule per page.)
const backgroundPiece = 256 << 10

// pieceReader reads at most piece bytes per call to r.
type pieceReader struct {
	r     io.Reader
	piece int
}

func (p pieceReader) Read(b []byte) (int, error) {
	return p.r.Read(b[:min(len(b), p.piece)])
}

// foregroundReader reads r at the normal priority (atNormalPriority):
// the source of a background flash.
type foregroundReader struct{ r io.Reader }

func (f foregroundReader) Read(b []byte) (n int, err error) {
	atNormalPriority(func() { n, err = f.r.Read(b) })
	return n, err
}
