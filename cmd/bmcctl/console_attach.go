package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
)

// How long an attached session lasts after the end of a stdin that is
// not a terminal: until the node has been quiet for drainQuiet, at most
// drainMax, so that the answer to the last line piped in is shown.
var (
	drainQuiet = 300 * time.Millisecond
	drainMax   = 3 * time.Second
)

// Window size: a UART carries none, so there is nothing to forward when
// the local terminal is resized, and bmcctl does not watch SIGWINCH (Go
// ignores it unless asked). Output is passed through unchanged and the
// local terminal reflows it itself; what bmcctl must get right is to put
// the terminal back (out of raw mode) on every way out. The node's own
// idea of the size is set on the node ("stty rows R cols C"); the escape
// help says so, with the current size.

// session is one attached console: output to stdout, messages to
// stderr, stdin to the node.
type session struct {
	e    *env
	cc   *client.ConsoleConn
	slot int
	esc  escapeKey
	// tty is stdin when it is a terminal: it is made raw, and escapes
	// are read from it.
	tty *os.File

	mu    sync.Mutex // serializes writes to stdout and stderr
	raw   bool       // the terminal is raw: lines end in CR LF
	fresh bool       // the cursor is at the start of a line
	muted bool       // the session is ending: no more output

	// Used by run's goroutine only.
	pending     bool // the escape key was the last key read
	warnedWrite bool // a read-only session said once that keys are not sent

	activity chan struct{} // output arrived (for the drain)
}

// attach runs an interactive console session until detached, closed by
// bmcd, interrupted or, when stdin is not a terminal, shortly after its
// end.
func (e *env) attach(ctx context.Context, slot int, opts client.ConsoleOptions, esc escapeKey) error {
	c, err := e.newClient()
	if err != nil {
		return err
	}
	dctx, cancel := ctx, context.CancelFunc(func() {})
	if e.timeout > 0 {
		dctx, cancel = context.WithTimeout(ctx, e.timeout)
	}
	// A slot that is off prints nothing yet: bmcd says so in a notice
	// after its hello, which the session prints like any other.
	cc, err := c.DialConsole(dctx, slot, opts)
	cancel()
	if err != nil {
		return e.explain(c, err)
	}
	s := &session{e: e, cc: cc, slot: slot, esc: esc, activity: make(chan struct{}, 1)}
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		s.tty = f
	}
	return e.explain(c, s.run(ctx))
}

// run prints the banner, makes the terminal raw, and moves bytes until
// the session ends; the terminal is restored before it returns, whatever
// the reason. SIGINT and SIGTERM reach it as ctx (main turns them into a
// cancellation); SIGHUP is caught here, since its default action would
// leave no chance to restore.
func (s *session) run(ctx context.Context) error {
	hello := s.cc.Hello()
	s.banner(hello)

	restore := func() {}
	var hup chan os.Signal
	if s.tty != nil {
		// Caught before the terminal goes raw: a hangup in between
		// would otherwise kill bmcctl with the terminal left raw.
		hup = make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		fd := int(s.tty.Fd())
		old, err := term.MakeRaw(fd)
		if err != nil {
			_ = s.cc.Close()
			return fmt.Errorf("console: make the terminal raw: %w", err)
		}
		s.mu.Lock()
		s.raw, s.fresh = true, true
		s.mu.Unlock()
		restore = sync.OnceFunc(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if !s.fresh {
				// A fresh line for what comes next: the shell
				// prompt, or bmcctl's error.
				_, _ = io.WriteString(s.e.stderr, "\r\n")
			}
			_ = term.Restore(fd, old)
			s.raw = false
		})
	}
	defer restore() // even on a panic

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	output := make(chan error, 1)
	var pump sync.WaitGroup
	pump.Go(func() { output <- s.pump(ctx) })

	err := s.loop(ctx, hello.Writable, output, hup)
	if errors.Is(err, errDetached) {
		s.note("detached from slot %d console", s.slot)
		err = nil
	}
	// Nothing more reaches the screen, and the terminal is put back
	// before waiting on the network.
	s.mu.Lock()
	s.muted = true
	s.mu.Unlock()
	restore()
	if err == nil {
		err = s.cc.Close() // normal closure: bmcd has every key sent
	}
	stop()
	_ = s.cc.Close()
	pump.Wait()
	return err
}

// loop moves keys to the node until the session ends: detached
// (errDetached), closed by bmcd, stdin ended and drained (nil),
// interrupted, or failed.
func (s *session) loop(ctx context.Context, writable bool, output <-chan error, hup <-chan os.Signal) error {
	var input chan []byte
	if s.tty != nil || writable {
		input = make(chan []byte)
		go readInput(s.e.stdin, input, ctx.Done())
	}
	var quiet *time.Timer
	var quietC, drainEnd <-chan time.Time
	for {
		select {
		case err := <-output:
			return s.ended(ctx, err)
		case b, ok := <-input:
			if !ok {
				// The end of stdin: let the answer to the last
				// line arrive.
				input = nil
				quiet = time.NewTimer(drainQuiet)
				defer quiet.Stop()
				quietC, drainEnd = quiet.C, time.After(drainMax)
				continue
			}
			if err := s.input(ctx, b, writable); err != nil {
				return err
			}
		case <-s.activity:
			if quiet != nil {
				quiet.Reset(drainQuiet)
			}
		case <-quietC:
			return nil
		case <-drainEnd:
			return nil
		case sig := <-hup:
			return fmt.Errorf("console: %v", sig)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// errDetached is the escape's "detach".
var errDetached = errors.New("console: detached")

// banner says what the session is attached to and how to leave.
func (s *session) banner(h apitype.ConsoleMessage) {
	var what []string
	if h.Device != "" {
		what = append(what, h.Device)
	}
	if h.Mode != nil {
		what = append(what, formatConsoleMode(*h.Mode))
	}
	line := fmt.Sprintf("Connected to slot %d console", s.slot)
	if len(what) > 0 {
		line += " (" + strings.Join(what, ", ") + ")"
	}
	if !h.Writable {
		line += ", read-only"
	}
	line += "."
	switch {
	case s.tty != nil && s.esc != 0:
		line += fmt.Sprintf(" Escape: %s q to detach, %s ? for help.", s.esc, s.esc)
	case s.tty != nil:
		line += " No escape key: end bmcctl with a signal (kill) to detach."
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = fmt.Fprintln(s.e.stderr, line)
}

// note prints a line of bmcctl's own among the output, on stderr:
// "[bmcctl: missed 1234 bytes]", on a line of its own.
func (s *session) note(format string, args ...any) {
	s.say("[bmcctl: " + fmt.Sprintf(format, args...) + "]")
}

// say prints lines of bmcctl's own on stderr. On a raw terminal, where
// output and messages share the screen, they start on a fresh line and
// end in CR LF.
func (s *session) say(lines ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.muted {
		return
	}
	nl := "\n"
	if s.raw {
		nl = "\r\n"
	}
	msg := strings.Join(lines, nl) + nl
	if s.raw && !s.fresh {
		msg = nl + msg
	}
	_, _ = io.WriteString(s.e.stderr, msg)
	s.fresh = true
}

// pump copies the session's frames to stdout (output) and stderr
// (messages) until the session ends, and returns why.
func (s *session) pump(ctx context.Context) error {
	for {
		f, err := s.cc.Read(ctx)
		if err != nil {
			return err
		}
		select {
		case s.activity <- struct{}{}:
		default:
		}
		if f.Message == nil {
			s.mu.Lock()
			if s.muted {
				s.mu.Unlock()
				continue
			}
			_, err := s.e.stdout.Write(f.Data)
			if len(f.Data) > 0 {
				s.fresh = f.Data[len(f.Data)-1] == '\n'
			}
			s.mu.Unlock()
			if err != nil {
				return fmt.Errorf("console: write output: %w", err)
			}
			continue
		}
		switch m := f.Message; m.Type {
		case apitype.ConsoleMissed:
			s.note("missed %d bytes", m.Bytes)
		case apitype.ConsoleNotice:
			s.note("%s", m.Message)
		}
	}
}

// ended turns what ended the pump into run's result: a normal closure
// by bmcd is not an error.
func (s *session) ended(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, io.EOF):
		s.note("bmcd closed the console")
		return nil
	}
	return err
}

// input handles keys read from stdin: escapes when stdin is a terminal,
// the rest sent to the node (unless the session may not write).
func (s *session) input(ctx context.Context, b []byte, writable bool) error {
	if s.tty == nil || s.esc == 0 {
		return s.send(ctx, b, writable)
	}
	for len(b) > 0 {
		var out []byte
		var cmd byte
		out, cmd, b = s.scan(b)
		if err := s.send(ctx, out, writable); err != nil {
			return err
		}
		switch cmd {
		case 'q', '.':
			return errDetached
		case '?':
			s.help()
		}
	}
	return nil
}

// scan finds the escape sequences in keys: it returns the keys to send up
// to the first escape command, that command (0: none), and the keys
// after it. The escape key then q or . detaches, then ? asks for help;
// the escape key twice sends it once; the escape key then another key
// sends both. An escape key at the end of keys waits for the next read.
func (s *session) scan(keys []byte) (send []byte, cmd byte, rest []byte) {
	esc := byte(s.esc)
	send = make([]byte, 0, len(keys)+1)
	for i, k := range keys {
		if !s.pending {
			if k == esc {
				s.pending = true
			} else {
				send = append(send, k)
			}
			continue
		}
		s.pending = false
		switch k {
		case 'q', '.', '?':
			return send, k, keys[i+1:]
		case esc:
			send = append(send, esc)
		default:
			send = append(send, esc, k)
		}
	}
	return send, 0, nil
}

// send writes keys to the node; a read-only session drops them, and
// says so once.
func (s *session) send(ctx context.Context, keys []byte, writable bool) error {
	if len(keys) == 0 {
		return nil
	}
	if !writable {
		if !s.warnedWrite {
			s.warnedWrite = true
			s.note("read-only session: keys are not sent")
		}
		return nil
	}
	return s.cc.Write(ctx, keys)
}

// help lists the escapes, and tells how to give the node the window size.
// Each escape is written out whole: the escape key, ] by default, must
// not read as the end of a bracketed note.
func (s *session) help() {
	k := s.esc.String()
	lines := []string{
		"[bmcctl: escape sequences]",
		fmt.Sprintf("  %-14s detach (the node keeps running); %s . too", k+" q", k),
		fmt.Sprintf("  %-14s this help", k+" ?"),
		fmt.Sprintf("  %-14s send %s to the node", k+" "+k, k),
	}
	if cols, rows, err := term.GetSize(int(s.tty.Fd())); err == nil {
		lines = append(lines, fmt.Sprintf("[bmcctl: a serial line does not carry the window size: run 'stty rows %d cols %d' on the node to match this window]", rows, cols))
	}
	s.say(lines...)
}

// readInput sends what r gives to ch until r ends (then it closes ch) or
// stop is closed. A read blocked on a terminal cannot be interrupted: the
// goroutine then stays until the process exits, which follows at once.
func readInput(r io.Reader, ch chan<- []byte, stop <-chan struct{}) {
	defer close(ch)
	if r == nil {
		return
	}
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			select {
			case ch <- append([]byte(nil), buf[:n]...):
			case <-stop:
				return
			}
		}
		if err != nil {
			return
		}
	}
}
