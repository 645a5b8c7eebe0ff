package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"golang.org/x/crypto/ssh"
)

// pgidTag starts the line the node's shell writes to stderr before the
// command: its process id, which is also the process group of everything
// the command starts (sshd makes each session's shell a session leader).
// Run removes the line from Stderr.
const pgidTag = "bmcd-pgid:"

// WireCommand is the command line [Conn.Run] sends for cmd: the shell
// first reports its process group, so a cancelled command can be killed
// whole. A simulated node may strip [WirePrefix] and run the rest.
func WireCommand(cmd string) string { return WirePrefix + cmd }

// WirePrefix is what [WireCommand] puts before every command.
const WirePrefix = "echo " + pgidTag + "$$ >&2; "

// Run runs cmd in a new session with stdin (nil for none) and returns its
// output. A non-zero exit is an [*ExitError] alongside the Result. stdin
// must not block forever once the session is gone (a file or buffer is
// fine): x/crypto copies it until EOF, and Close waits for that copy.
//
// Cancelling ctx kills the command's whole process group on the node
// (from a second session: OpenSSH refuses "signal" requests for root
// logins and would signal only the shell), closes the session and
// returns ctx's error.
func (c *Conn) Run(ctx context.Context, cmd string, stdin io.Reader) (Result, error) {
	if err := c.Err(); err != nil {
		return Result{}, err
	}
	s, err := c.client.NewSession()
	if err != nil {
		return Result{}, fmt.Errorf("node %s: open session: %w", c.node, c.why(err))
	}
	var stdout bytes.Buffer
	stderr := &pgidWriter{}
	s.Stdout, s.Stderr = &stdout, stderr
	if stdin != nil {
		s.Stdin = stdin
	}
	if err := s.Start(WireCommand(cmd)); err != nil {
		_ = s.Close()
		return Result{}, fmt.Errorf("node %s: start %q: %w", c.node, cmd, c.why(err))
	}
	waited := make(chan error, 1)
	if !c.spawn(func() { waited <- s.Wait() }) {
		_ = s.Close()
		return Result{}, c.Err()
	}
	select {
	case err = <-waited:
	case <-ctx.Done():
		c.kill(stderr.pgid(), s)
		_ = s.Close()
		// The Wait goroutine ends with the session or, at the latest,
		// the connection; Close waits for it.
		return Result{}, fmt.Errorf("node %s: %q: %w", c.node, cmd, ctx.Err())
	case <-c.done:
		return Result{}, fmt.Errorf("node %s: %q: %w", c.node, cmd, c.err)
	}
	_ = s.Close()
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.bytes()}
	var ee *ssh.ExitError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &ee):
		res.ExitStatus = ee.ExitStatus()
		return res, &ExitError{Node: c.node.Name, Cmd: cmd, Status: res.ExitStatus, Stderr: string(res.Stderr)}
	}
	return res, fmt.Errorf("node %s: %q: %w", c.node, cmd, c.why(err))
}

// kill ends a cancelled command: its process group when the shell has
// reported it, else (cancelled before the shell started) a signal request
// to whatever sshd accepts it for.
func (c *Conn) kill(pgid int, s *ssh.Session) {
	if pgid <= 1 {
		_ = s.Signal(ssh.SIGKILL)
		return
	}
	k, err := c.client.NewSession()
	if err != nil {
		c.log.Warn("cannot kill cancelled command", "pgid", pgid, "err", err)
		return
	}
	defer k.Close()
	done := make(chan error, 1)
	if !c.spawn(func() { done <- k.Run(fmt.Sprintf("kill -KILL -- -%d", pgid)) }) {
		return
	}
	select {
	case err = <-done:
	case <-c.clock.After(c.killTimeout):
		err = errors.New("timed out")
	case <-c.done:
		err = c.err
	}
	// The group may have ended on its own meanwhile: kill then fails.
	c.log.Debug("killed cancelled command", "pgid", pgid, "err", err)
}

// pgidWriter is a command's stderr: it takes the shell's pgidTag line off
// the front and keeps the rest.
type pgidWriter struct {
	mu   sync.Mutex
	head []byte // until the first newline
	id   int
	seen bool
	buf  bytes.Buffer
}

func (w *pgidWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen {
		return w.buf.Write(p)
	}
	w.head = append(w.head, p...)
	line, rest, ok := bytes.Cut(w.head, []byte("\n"))
	if !ok {
		return len(p), nil
	}
	w.seen = true
	if id, found := bytes.CutPrefix(line, []byte(pgidTag)); found {
		w.id, _ = strconv.Atoi(string(id))
	} else {
		// Not our line (a shell that printed first): keep it.
		w.buf.Write(line)
		w.buf.WriteByte('\n')
	}
	w.buf.Write(rest)
	w.head = nil
	return len(p), nil
}

func (w *pgidWriter) pgid() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.id
}

func (w *pgidWriter) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.seen {
		return append(w.buf.Bytes(), w.head...)
	}
	return w.buf.Bytes()
}
