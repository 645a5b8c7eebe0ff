package simconsole

import (
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
)

// phase is where a simulated node is in its life.
type phase int

const (
	phaseOff      phase = iota // no power: no output, no echo
	phaseBooting               // writing the boot log; input is discarded
	phaseLogin                 // getty: "login: "
	phasePassword              // login: "Password: ", not echoed
	phaseShell                 // logged in, at the shell prompt
)

// maxLine bounds the line being typed; further characters are ignored.
const maxLine = 1024

// readRetry is the pause after an unexpected error reading the master.
const readRetry = 100 * time.Millisecond

// node is one simulated compute module, attached to the master side of its
// slot's pseudo-terminal. SetPower and Reset only record the wanted state
// and wake run, which owns everything else, so they never block.
type node struct {
	slot  int
	boot  []bootLine
	clock clockwork.Clock
	log   *slog.Logger
	delay time.Duration
	// write writes to the console without waiting; it returns how much
	// was taken.
	write  func([]byte) (int, error)
	host   string // the name of an unprepared node
	bootOS func(slot int) (OS, error)
	haltOS func(slot int)

	wake chan struct{} // capacity 1: the wanted state changed
	in   chan []byte   // bytes received from the console

	mu        sync.Mutex
	wantOn    bool
	wantEpoch uint64 // counts power-ons and resets

	lost atomic.Uint64 // bytes the console could not take

	// Owned by run.
	on       bool
	epoch    uint64
	started  time.Time       // power-on, for the kernel timestamps
	next     int             // the next boot line to write
	timer    clockwork.Timer // pending pause before boot line next
	sess     session
	dropping bool // the last write lost bytes
	osUp     bool // bootOS ran and haltOS has not
}

func newNode(slot int, host string, clock clockwork.Clock, log *slog.Logger, delay time.Duration, write func([]byte) (int, error)) *node {
	return &node{
		slot:  slot,
		boot:  bootLog(host, ""),
		host:  host,
		clock: clock,
		log:   log.With("slot", slot),
		delay: delay,
		write: write,
		wake:  make(chan struct{}, 1),
		in:    make(chan []byte),
		sess:  session{host: host},
	}
}

// withOS sets the hooks of Opts.Boot and Opts.Halt.
func (n *node) withOS(boot func(int) (OS, error), halt func(int)) *node {
	n.bootOS, n.haltOS = boot, halt
	return n
}

// startOS runs Opts.Boot and sets up the boot log and the getty for what
// it returns.
func (n *node) startOS() {
	host, marker := n.host, ""
	if n.bootOS != nil {
		sys, err := n.bootOS(n.slot)
		n.osUp = true
		if err != nil {
			n.log.Warn("simconsole: node's system did not start cleanly", "err", err)
		}
		if sys.Hostname != "" {
			host = sys.Hostname
		}
		marker = sys.Marker
	}
	n.boot = bootLog(host, marker)
	n.sess.host = host
}

// stopOS runs Opts.Halt if the system is up.
func (n *node) stopOS() {
	if n.osUp && n.haltOS != nil {
		n.haltOS(n.slot)
	}
	n.osUp = false
}

// setPower records the wanted power and wakes run. Switching on a node that
// is on changes nothing.
func (n *node) setPower(on bool) {
	n.mu.Lock()
	if on && !n.wantOn {
		n.wantEpoch++
	}
	n.wantOn = on
	n.mu.Unlock()
	n.poke()
}

// reset reboots the node if it is on.
func (n *node) reset() {
	n.mu.Lock()
	if n.wantOn {
		n.wantEpoch++
	}
	n.mu.Unlock()
	n.poke()
}

func (n *node) poke() {
	select {
	case n.wake <- struct{}{}:
	default: // run has a wake-up pending; it reads the state after it.
	}
}

// stale reports whether SetPower or Reset changed the wanted state since
// run last applied it: then the node must not write any more.
func (n *node) stale() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.wantOn != n.on || n.wantEpoch != n.epoch
}

// run is the node: it applies power changes, writes the boot log and
// answers what it receives, until done is closed.
func (n *node) run(done <-chan struct{}) {
	defer n.stopOS()
	defer n.stopTimer()
	for {
		var tick <-chan time.Time
		if n.timer != nil {
			tick = n.timer.Chan()
		}
		select {
		case <-done:
			return
		case <-n.wake:
			n.apply()
		case p := <-n.in:
			if out := n.sess.feed(p, nil); len(out) > 0 {
				n.emit(out)
			}
		case <-tick:
			n.timer = nil
			n.bootStep(true)
		}
	}
}

// apply brings the node to the wanted state.
func (n *node) apply() {
	n.mu.Lock()
	on, epoch := n.wantOn, n.wantEpoch
	n.mu.Unlock()
	if on == n.on && (!on || epoch == n.epoch) {
		return
	}
	n.stopTimer()
	n.stopOS()
	n.on, n.epoch = on, epoch
	if !on {
		n.log.Debug("simconsole: node powered off")
		n.sess.reset(phaseOff)
		return
	}
	n.log.Debug("simconsole: node booting")
	n.sess.reset(phaseBooting)
	n.startOS()
	n.started = n.clock.Now()
	n.next = 0
	n.bootStep(false)
}

// bootStep writes the boot log from line n.next on, until a line has to
// wait for its pause; paused says that the pause before line n.next is
// over. After the last line the getty is at its login prompt.
func (n *node) bootStep(paused bool) {
	for ; n.next < len(n.boot); n.next++ {
		l := n.boot[n.next]
		if d := time.Duration(l.pause) * n.delay; d > 0 && !paused {
			n.timer = n.clock.NewTimer(d)
			return
		}
		paused = false
		if !n.emit(l.render(n.clock.Since(n.started))) {
			return // power changed: run is about to apply it
		}
	}
	n.sess.phase = phaseLogin
}

func (n *node) stopTimer() {
	if n.timer != nil {
		n.timer.Stop()
		n.timer = nil
	}
}

// emit writes p to the console unless the power changed meanwhile, and
// reports whether it did. What the console cannot take is lost.
func (n *node) emit(p []byte) bool {
	if n.stale() {
		return false
	}
	k, err := n.write(p)
	if k < len(p) {
		n.lost.Add(uint64(len(p) - k))
		if !n.dropping {
			n.log.Debug("simconsole: console output lost; nobody reads it", "bytes", len(p)-k, "err", err)
		}
		n.dropping = true
	} else {
		n.dropping = false
	}
	return true
}

// readLoop passes what the daemon writes to the console on to run, until
// done is closed or the master is closed.
func (n *node) readLoop(master *os.File, done <-chan struct{}) {
	buf := make([]byte, 1024)
	for {
		k, err := master.Read(buf)
		if k > 0 {
			select {
			case n.in <- append([]byte(nil), buf[:k]...):
			case <-done:
				return
			}
		}
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrClosed) {
			return
		}
		n.log.Debug("simconsole: read console", "err", err)
		select {
		case <-done:
			return
		case <-n.clock.After(readRetry):
		}
	}
}

// session is the software of a running node as seen on its console: the
// getty, login and a shell that knows a few commands.
type session struct {
	host   string
	phase  phase
	line   []byte // typed since the last end of line
	user   string
	lastCR bool
}

// reset starts over in phase p, forgetting the login.
func (s *session) reset(p phase) {
	*s = session{host: s.host, phase: p, line: s.line[:0]}
}

// feed handles the received bytes in and appends the node's answer to out.
func (s *session) feed(in, out []byte) []byte {
	for _, b := range in {
		out = s.key(b, out)
	}
	return out
}

func (s *session) key(b byte, out []byte) []byte {
	if s.phase != phaseLogin && s.phase != phasePassword && s.phase != phaseShell {
		return out // off, or booting: no getty reads the UART yet
	}
	afterCR := s.lastCR
	s.lastCR = b == '\r'
	echo := s.phase != phasePassword
	switch {
	case b == '\n' && afterCR:
		// The second half of a CR LF ends no second line.
	case b == '\r' || b == '\n':
		line := string(s.line)
		s.line = s.line[:0]
		out = append(out, "\r\n"...)
		out = s.enter(line, out)
	case b == 0x7f || b == '\b':
		if len(s.line) > 0 {
			s.line = s.line[:len(s.line)-1]
			if echo {
				out = append(out, "\b \b"...)
			}
		}
	case b == 0x03: // Ctrl-C
		s.line = s.line[:0]
		out = append(out, "^C\r\n"...)
		if s.phase == phaseShell {
			return s.prompt(out)
		}
		s.user = ""
		s.phase = phaseLogin
		out = append(out, s.host+" login: "...)
	case b == 0x04 && s.phase == phaseShell && len(s.line) == 0: // Ctrl-D
		out = append(out, "logout\r\n"...)
		out = s.logout(out)
	case b >= 0x20 && b < 0x7f:
		if len(s.line) < maxLine {
			s.line = append(s.line, b)
			if echo {
				out = append(out, b)
			}
		}
	}
	return out
}

// enter handles a line ended by the user; its "\r\n" is already echoed.
func (s *session) enter(line string, out []byte) []byte {
	switch s.phase {
	case phaseLogin:
		name := strings.TrimSpace(line)
		if name == "" {
			return append(out, s.host+" login: "...)
		}
		s.user = name
		s.phase = phasePassword
		return append(out, "Password: "...)
	case phasePassword:
		s.phase = phaseShell
		out = append(out, "Linux "+s.host+" "+kernelRelease+" "+kernelVersion+" "+machine+"\r\n\r\n"+
			"The programs included with the Debian GNU/Linux system are free software;\r\n"+
			"the exact distribution terms for each program are described in the\r\n"+
			"individual files in /usr/share/doc/*/copyright.\r\n\r\n"+
			"Debian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent\r\n"+
			"permitted by applicable law.\r\n"+
			"This node is simulated by bmcd: only a few commands work.\r\n"...)
		return s.prompt(out)
	default:
		return s.command(line, out)
	}
}

// command runs a shell command line.
func (s *session) command(line string, out []byte) []byte {
	args := strings.Fields(line)
	if len(args) == 0 {
		return s.prompt(out)
	}
	switch args[0] {
	case "exit", "logout":
		if args[0] == "exit" {
			out = append(out, "logout\r\n"...)
		}
		return s.logout(out)
	case "uname":
		out = append(out, uname(s.host, args[1:])...)
	case "hostname":
		out = append(out, s.host+"\r\n"...)
	case "whoami":
		out = append(out, s.user+"\r\n"...)
	case "echo":
		out = append(out, strings.Join(args[1:], " ")+"\r\n"...)
	default:
		out = append(out, "-bash: "+args[0]+": command not found\r\n"...)
	}
	return s.prompt(out)
}

func uname(host string, args []string) string {
	if len(args) == 0 {
		return "Linux\r\n"
	}
	switch args[0] {
	case "-a", "--all":
		return "Linux " + host + " " + kernelRelease + " " + kernelVersion + " " + machine + " GNU/Linux\r\n"
	case "-s", "--kernel-name":
		return "Linux\r\n"
	case "-n", "--nodename":
		return host + "\r\n"
	case "-r", "--kernel-release":
		return kernelRelease + "\r\n"
	case "-v", "--kernel-version":
		return kernelVersion + "\r\n"
	case "-m", "--machine":
		return machine + "\r\n"
	default:
		return "uname: invalid option -- '" + strings.TrimLeft(args[0], "-") + "'\r\nTry 'uname --help' for more information.\r\n"
	}
}

func (s *session) prompt(out []byte) []byte {
	return append(out, s.user+"@"+s.host+":~$ "...)
}

// logout ends the shell; the getty starts over.
func (s *session) logout(out []byte) []byte {
	s.user = ""
	s.phase = phaseLogin
	return append(out, issue(s.host)...)
}
