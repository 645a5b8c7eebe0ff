package flasher

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
)

// startProc runs cmd, a decoder that reads its input from stdin and
// writes the image to stdout, on in, and returns its output. classify
// turns the process' failure (the tail of its stderr and the exit
// error; a nil error when it exited 0) into the flasher's errors, or
// nil when the output is good.
//
// A local file (in.file) is the process' stdin itself: no byte of it
// passes through bmcd, and the progress comes from the file's offset,
// which the process shares. Other sources are copied into a pipe in
// 256 KiB reads and writes: an upload's or a download's body is wrapped
// by net/http (a chunked or length-limited reader over a buffered
// connection), so splice(2) cannot take the bytes from the socket.
func startProc(cmd *exec.Cmd, name string, in decoderInput, classify func(stderr string, err error) error) (*decoderProc, error) {
	// Blocking pipes: xz and bzip2 write 8 KiB or less at a time, and a reader blocked in
	// read(2), as dd is, keeps up with less work than one woken by the
	// poller for each write.
	outR, outW, err := blockingPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	x := &decoderProc{name: name, classify: classify, cmd: cmd, stdout: outR, copied: make(chan struct{})}
	var inR, inW *os.File
	if in.file != nil {
		if _, err := in.file.Seek(in.offset, io.SeekStart); err != nil {
			outR.Close()
			outW.Close()
			return nil, fmt.Errorf("%s: rewind the image: %w", name, err)
		}
		x.file, x.size, x.count = in.file, in.size, in.count
		cmd.Stdin = in.file
	} else {
		if inR, inW, err = blockingPipe(); err != nil {
			outR.Close()
			outW.Close()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		cmd.Stdin = inR
	}
	cmd.Stdout, cmd.Stderr = outW, &x.stderr
	if in.background {
		err = startIdle(cmd)
	} else {
		err = cmd.Start()
	}
	if inR != nil {
		inR.Close()
	}
	outW.Close()
	if err != nil {
		if inW != nil {
			inW.Close()
		}
		outR.Close()
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	if inW == nil {
		close(x.copied)
		return x, nil
	}
	go func() {
		defer close(x.copied)
		if in.background {
			_ = idleThread() // as the process it feeds; the flash logs a failure
		}
		// A failing source is seen by the pipeline's source reader; a
		// failing decoder by wait.
		_ = feed(inW, in.br)
		inW.Close()
	}()
	return x, nil
}

// startIdle starts cmd from an idle thread, whose policy the process
// inherits; the thread ends with the goroutine. Where the policy cannot
// be had, cmd starts all the same.
func startIdle(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() {
		_ = idleThread()
		done <- cmd.Start()
	}()
	return <-done
}

// feedSize is the size of the reads and writes that feed a decoder
// process: what a pipe of 1 MiB takes in a few writes, and what a
// socket delivers in one read when the network is fast.
const feedSize = 256 << 10

// feed copies br into w in reads of up to feedSize. Reads that large go
// past br's buffer, straight into buf, once br has handed out what it
// holds. (io.Copy would end in os.File's ReadFrom, which copies through
// 32 KiB when it cannot splice.)
func feed(w io.Writer, br *bufio.Reader) error {
	buf := make([]byte, feedSize)
	for {
		n, err := br.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// decoderProc is the output of a decoder process (xz, bzip2).
type decoderProc struct {
	name     string
	classify func(stderr string, err error) error
	cmd      *exec.Cmd
	stdout   io.ReadCloser
	stderr   tailBuffer
	copied   chan struct{} // closed when the stdin copier is done
	once     sync.Once
	err      error

	// When the process reads the image file itself: the file, its size, and the
	// count of source bytes consumed that progress reports, updated from
	// the file's offset every progressStep bytes of output.
	file     *os.File
	size     int64
	count    *atomic.Int64
	unpolled int
}

// progressStep is how much output decoderProc reads between two looks at how
// far the process has read its input file.
const progressStep = 4 << 20

// Read reads the decompressed stream; at its end, it reports how the
// process exited.
func (x *decoderProc) Read(p []byte) (int, error) {
	n, err := x.stdout.Read(p)
	if x.file != nil {
		if x.unpolled += n; x.unpolled >= progressStep {
			x.unpolled = 0
			// The offset the process shares with bmcd's descriptor; an error (the
			// source closed by a cancel) leaves the count as it was.
			if pos, err := x.file.Seek(0, io.SeekCurrent); err == nil {
				x.count.Store(pos)
			}
		}
	}
	if errors.Is(err, io.EOF) {
		if werr := x.wait(); werr != nil {
			return n, werr
		}
		if x.file != nil {
			x.count.Store(x.size) // the process read it to the end to check it
		}
	}
	return n, err
}

// Close stops the process if it still runs and waits for it.
func (x *decoderProc) Close() error {
	x.once.Do(func() {
		// Not done yet: whatever the reason, the process' result is not wanted.
		_ = x.cmd.Process.Kill()
		<-x.copied
		_ = x.cmd.Wait()
		x.stdout.Close()
		x.err = fmt.Errorf("%s: closed", x.name)
	})
	return nil
}

func (x *decoderProc) wait() error {
	x.once.Do(func() {
		<-x.copied
		err := x.cmd.Wait()
		x.stdout.Close()
		x.err = x.classify(strings.TrimSpace(x.stderr.String()), err)
	})
	return x.err
}

// tailBuffer keeps the last bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 4 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailMax {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
