package simssh

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

// handshakeTimeout bounds a client's key exchange and authentication, so a
// silent client does not hold a connection open.
const handshakeTimeout = 30 * time.Second

// ErrNoKeys means a Config names no authorized key: no one could log in.
var ErrNoKeys = errors.New("no authorized keys")

// ErrNoHostKey means a Config holds no ed25519 host key.
var ErrNoHostKey = errors.New("no ed25519 host key")

// Config is what the node's sshd knows from its seed.
type Config struct {
	Node Node
	// HostKey is the node's ed25519 host key.
	HostKey ed25519.PrivateKey
	// AuthorizedKeys are the user's keys, in authorized_keys form.
	AuthorizedKeys []string
	// Commands is the command table; nil means Commands().
	Commands map[string]Command
	// K3s, when set, is the node's k3s: the install line, systemctl
	// is-active, k3s kubectl get nodes, the uninstall scripts and the k3s
	// files join the command table. Nil: k3s is not installable (the node
	// has no internet to fetch it from).
	K3s *K3sNode
	// Offline cuts the node from the internet: the online install's
	// download fails (curl -sfL prints nothing, so sh runs an empty
	// script) while an air-gap install from uploaded files still works.
	Offline bool
	// InstallHangs, when set and true at the time of a k3s install, makes
	// the install never return (a download that stalls) until the command
	// is killed or the node goes down: a fault to test with.
	InstallHangs func() bool
	Logger       *slog.Logger
}

// Server is a running sshd. Its methods are safe for concurrent use.
type Server struct {
	cfg      *ssh.ServerConfig
	node     Node
	k3s      *K3sNode
	offline  bool
	files    *Files // the node's files written over SSH
	commands map[string]Command
	log      *slog.Logger
	ln       net.Listener
	pids     atomic.Int32 // process ids handed to commands ($$)
	wg       sync.WaitGroup
	hang     func() bool
	done     chan struct{} // closed by Close: the node is going down

	procMu sync.Mutex
	procs  map[int]chan struct{} // hanging commands by their shell's pid

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// Listen starts the server on addr ("127.0.1.2:2202"; port 0 picks one).
func Listen(addr string, c Config) (*Server, error) {
	if len(c.HostKey) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("simssh: host key: %w", ErrNoHostKey)
	}
	signer, err := ssh.NewSignerFromKey(c.HostKey)
	if err != nil {
		return nil, fmt.Errorf("simssh: host key: %w", err)
	}
	keys := map[string]bool{}
	for _, line := range c.AuthorizedKeys {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("simssh: authorized key %q: %w", line, err)
		}
		keys[string(k.Marshal())] = true
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("simssh: user %s: %w", c.Node.User, ErrNoKeys)
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if meta.User() != c.Node.User || !keys[string(k.Marshal())] {
				return nil, fmt.Errorf("key %s not authorized for %s", ssh.FingerprintSHA256(k), meta.User())
			}
			return nil, nil
		},
		ServerVersion: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
	}
	cfg.AddHostKey(signer)
	commands := c.Commands
	if commands == nil {
		commands = Commands()
	}
	if c.K3s != nil {
		commands = withKubectlLifecycle(withK3s(commands, c.K3s), c.K3s)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("simssh: %w", err)
	}
	if c.K3s != nil {
		c.K3s.up(c.Node, ln.Addr().(*net.TCPAddr).AddrPort().Addr().String())
	}
	files := NewFiles()
	if c.K3s != nil {
		files = c.K3s.files // they survive power off and on, as the install does
	}
	s := &Server{cfg: cfg, node: c.Node, k3s: c.K3s, offline: c.Offline, files: files, commands: commands, log: log, ln: ln, conns: map[net.Conn]struct{}{},
		hang: c.InstallHangs, done: make(chan struct{}), procs: map[int]chan struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() netip.AddrPort {
	return s.ln.Addr().(*net.TCPAddr).AddrPort()
}

// Close stops listening, closes every connection and waits for their
// sessions to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		close(s.done)
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	if s.k3s != nil {
		s.k3s.down()
	}
	if err != nil {
		return fmt.Errorf("simssh: close %s: %w", s.ln.Addr(), err)
	}
	return nil
}

// track records an accepted connection, or closes it when the server is
// closing, and reports whether it was recorded.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Warn("simssh: accept", "addr", s.ln.Addr(), "err", err)
			}
			return
		}
		if !s.track(c) {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.serve(c)
		}()
	}
}

// serve runs one client connection.
func (s *Server) serve(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	conn, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		s.log.Debug("simssh: handshake", "remote", c.RemoteAddr(), "err", err)
		return
	}
	_ = c.SetDeadline(time.Time{})
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			s.log.Debug("simssh: accept channel", "err", err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.session(ch, creqs)
		}()
	}
}

// session answers a session's requests: one exec request runs a command,
// a shell request runs the shell (with line editing when a pty was
// requested first). Later requests (window-change, signal) are refused.
func (s *Server) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	pty := false
	for req := range reqs {
		switch req.Type {
		case "exec":
			var p struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil {
				_ = req.Reply(false, nil)
				continue
			}
			_ = req.Reply(true, nil)
			status, _ := s.run(p.Command, s.newPID(), ch, ch, ch.Stderr())
			exitStatus(ch, status)
			return
		case "pty-req":
			pty = true
			_ = req.Reply(true, nil)
		case "shell":
			_ = req.Reply(true, nil)
			done := make(chan struct{})
			go func() {
				defer close(done)
				exitStatus(ch, s.shell(ch, pty))
				ch.Close()
			}()
			for req := range reqs {
				_ = req.Reply(false, nil)
			}
			<-done
			return
		default:
			// env and the like: refused, as a locked-down sshd does.
			_ = req.Reply(false, nil)
		}
	}
}

// newPID is the process id of a new shell, for $$.
func (s *Server) newPID() int { return 1000 + int(s.pids.Add(1)) }

func exitStatus(ch ssh.Channel, status uint32) {
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
}

// shell reads command lines until exit or end of input and returns the
// last command's status. With a pty it is a login shell at a prompt, with
// echo and line editing (x/term's terminal); without, it reads commands
// from its input as sh does from a pipe.
func (s *Server) shell(ch ssh.Channel, pty bool) uint32 {
	var status uint32
	pid := s.newPID()
	if !pty {
		sc := bufio.NewScanner(ch)
		for sc.Scan() {
			var done bool
			if status, done = s.run(sc.Text(), pid, nil, ch, ch.Stderr()); done {
				break
			}
		}
		return status
	}
	t := term.NewTerminal(ch, s.node.User+"@"+s.node.Hostname+":~$ ")
	fmt.Fprintf(t, "Linux %s %s %s\n\nThis node is simulated by bmcd: only a few commands work.\n", s.node.Hostname, kernelRelease, s.node.machine())
	for {
		line, err := t.ReadLine()
		if err != nil { // end of input (Ctrl-D) or the connection closed
			return status
		}
		var done bool
		if status, done = s.run(line, pid, nil, t, t); done {
			return status
		}
	}
}

// run runs a command line as sh would for the few forms the simulated
// node understands: commands separated by ";" run in turn, commands
// joined by "&&" stop at the first failure. It reports whether the line
// ended in exit or logout. stdin (nil for none) is the session's input,
// which the first command reading it consumes.
func (s *Server) run(line string, pid int, stdin io.Reader, stdout, stderr io.Writer) (status uint32, exit bool) {
	for _, list := range strings.Split(line, ";") {
		for _, cmd := range strings.Split(list, "&&") {
			if status, exit = s.runOne(cmd, pid, stdin, stdout, stderr); exit || status != 0 {
				break
			}
		}
		if exit {
			break
		}
	}
	return status, exit
}

// runOne runs one command from the table and reports whether it was exit
// or logout. Arguments are split at white space with single quotes
// honoured; leading NAME=value words set the command's environment; the
// only redirections are >&2 and >/dev/null; sudo -n runs the rest as
// root (the node's account may, without a password).
func (s *Server) runOne(line string, pid int, stdin io.Reader, stdout, stderr io.Writer) (status uint32, exit bool) {
	if strings.Contains(line, "|") {
		return s.pipeline(line, pid, stdout, stderr), false
	}
	args, err := shellWords(line)
	if err != nil {
		fmt.Fprintf(stderr, "sh: 1: Syntax error: %v\n", err)
		return 2, false
	}
	// Word expansion and redirection, as far as bmcd's commands use them:
	// $$ is the shell's process id, >&2 sends stdout to stderr and
	// >/dev/null discards it.
	words := args[:0]
	for _, a := range args {
		switch a {
		case ">&2", "1>&2":
			stdout = stderr
		case ">/dev/null":
			stdout = io.Discard
		default:
			words = append(words, strings.ReplaceAll(a, "$$", strconv.Itoa(pid)))
		}
	}
	args = words
	env := map[string]string{}
	for len(args) > 0 && envAssign.MatchString(args[0]) {
		name, value, _ := strings.Cut(args[0], "=")
		env[name] = value
		args = args[1:]
	}
	root := s.node.User == "root"
	if len(args) >= 2 && args[0] == "sudo" && args[1] == "-n" {
		args, root = args[2:], true
	}
	if len(args) == 0 {
		return 0, false
	}
	switch args[0] {
	case "exit", "logout":
		if len(args) > 1 {
			n, err := strconv.ParseUint(args[1], 10, 8)
			if err != nil {
				fmt.Fprintf(stderr, "sh: 1: exit: Illegal number: %s\n", args[1])
				return 2, true
			}
			return uint32(n), true
		}
		return 0, true
	case "kill":
		return s.kill(args[1:], stderr), false
	case "umask":
		return 0, false
	case "sh":
		status = s.script(env, args[1:], stdout, stderr)
		s.saveK3s()
		return status, false
	}
	var out, errw bytes.Buffer
	if st, ok := s.files.run(args, root, "/home/"+s.node.User+"/", stdin, &out, &errw); ok {
		_, _ = stdout.Write(out.Bytes())
		_, _ = stderr.Write(errw.Bytes())
		return st, false
	}
	cmd, ok := s.commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sh: 1: %s: not found\n", args[0])
		return 127, false
	}
	status = cmd(s.node, args[1:], &out, &errw)
	s.saveK3s()
	_, _ = stdout.Write(out.Bytes())
	_, _ = stderr.Write(errw.Bytes())
	return status, false
}
