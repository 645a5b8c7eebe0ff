package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/ssh"
)

// Defaults for the zero values of [Config].
const (
	DefaultHandshakeTimeout  = 15 * time.Second
	DefaultKeepaliveInterval = 10 * time.Second
	DefaultKeepaliveMisses   = 3
)

// Config says how bmcd logs in to nodes.
type Config struct {
	// User to log in as; "root" when empty.
	User string
	// Signer is bmcd's private key, offered for public-key auth (the only
	// method used).
	Signer ssh.Signer
	// HandshakeTimeout bounds TCP connect plus SSH handshake and auth.
	HandshakeTimeout time.Duration
	// KeepaliveInterval is how often keepalive@openssh.com is sent;
	// after KeepaliveMisses intervals without a reply the connection is
	// dropped.
	KeepaliveInterval time.Duration
	KeepaliveMisses   int
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
	// Clock paces keepalives; nil is the real clock. Socket deadlines
	// are wall-clock time and do not use it.
	Clock clockwork.Clock
}

// Result is what a command left behind.
type Result struct {
	Stdout, Stderr []byte
	// ExitStatus is the command's exit status (0 when it succeeded).
	ExitStatus int
}

// ExitError reports a command that ran and exited non-zero. Run returns it
// together with the filled-in [Result].
type ExitError struct {
	Node   string
	Cmd    string
	Status int
	Stderr string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("node %s: %q exited with status %d", e.Node, e.Cmd, e.Status)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

// Conn is one SSH connection to one node; commands run in their own
// sessions over it. It is safe for concurrent use.
type Conn struct {
	node   Node
	client *ssh.Client
	log    *slog.Logger
	clock  clockwork.Clock
	// killTimeout bounds the extra session that kills a cancelled
	// command.
	killTimeout time.Duration

	done    chan struct{} // closed when the connection is gone
	errOnce sync.Once

	// Every goroutine the connection starts is in wg; once stopped is
	// set no more start, so Close can wait for them all.
	goMu    sync.Mutex
	stopped bool
	wg      sync.WaitGroup
	err     error // why it is gone; set before done is closed
}

var _ Runner = (*Conn)(nil)

// Dial connects to a node, accepting only its recorded host key, and starts
// keepalives. Cancelling ctx aborts the dial; it does not affect the
// returned connection.
func Dial(ctx context.Context, cfg Config, n Node) (*Conn, error) {
	if err := n.validate(); err != nil {
		return nil, err
	}
	if cfg.Signer == nil {
		return nil, fmt.Errorf("node %s: no client key", n)
	}
	cfg = cfg.withDefaults()
	deadline := time.Now().Add(cfg.HandshakeTimeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	tcp, err := (&net.Dialer{}).DialContext(dctx, "tcp", n.Addr)
	if err != nil {
		return nil, fmt.Errorf("node %s: connect: %w", n, err)
	}
	// ClientConfig.Timeout covers only the TCP connect: the deadline on
	// the socket bounds the handshake, and ctx closes it early.
	_ = tcp.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = tcp.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(tcp, n.Addr, &ssh.ClientConfig{
		User:              cfg.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(cfg.Signer)},
		HostKeyCallback:   pinnedHostKey(n),
		HostKeyAlgorithms: hostKeyAlgorithms(n.HostKey),
	})
	if !stop() {
		if err == nil {
			_ = sc.Close()
		}
		_ = tcp.Close()
		return nil, fmt.Errorf("node %s: ssh handshake: %w", n, ctx.Err())
	}
	if err != nil {
		_ = tcp.Close()
		return nil, fmt.Errorf("node %s: %w", n, classify(err))
	}
	_ = tcp.SetDeadline(time.Time{})
	c := &Conn{
		node:   n,
		client: ssh.NewClient(sc, chans, reqs),
		log:    cfg.Logger.With("node", n.Name, "addr", n.Addr),
		done:   make(chan struct{}),

		clock:       cfg.Clock,
		killTimeout: cfg.HandshakeTimeout,
	}
	c.spawn(c.watch)
	c.spawn(func() { c.keepalive(cfg.KeepaliveInterval, cfg.KeepaliveMisses) })
	c.log.Debug("ssh connected")
	return c, nil
}

func (cfg Config) withDefaults() Config {
	if cfg.User == "" {
		cfg.User = "root"
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.KeepaliveInterval <= 0 {
		cfg.KeepaliveInterval = DefaultKeepaliveInterval
	}
	if cfg.KeepaliveMisses <= 0 {
		cfg.KeepaliveMisses = DefaultKeepaliveMisses
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	return cfg
}

// classify maps x/crypto's handshake errors to this package's sentinels.
func classify(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, ErrHostKeyMismatch), errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%w: %w", ErrHandshakeTimeout, err)
	case strings.Contains(err.Error(), "unable to authenticate"):
		// x/crypto has no typed error for a refused key.
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	return err
}

// Node returns the node this connection reaches.
func (c *Conn) Node() Node { return c.node }

// Done is closed when the connection is gone (closed, dropped by
// keepalive, or broken); Err then says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection is gone, or nil while it is up.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close closes the connection and every session on it, and returns once
// the connection's goroutines have ended.
func (c *Conn) Close() error {
	c.fail(fmt.Errorf("node %s: %w", c.node, ErrClosed))
	c.goMu.Lock()
	c.stopped = true
	c.goMu.Unlock()
	c.wg.Wait()
	return nil
}

// spawn runs f in a goroutine Close waits for; it reports false, without
// running f, once Close has begun.
func (c *Conn) spawn(f func()) bool {
	c.goMu.Lock()
	defer c.goMu.Unlock()
	if c.stopped {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

// fail records why the connection ends and closes it, once.
func (c *Conn) fail(err error) {
	c.errOnce.Do(func() {
		// done closes first so a caller woken by the closed client
		// already sees why.
		c.err = err
		close(c.done)
		_ = c.client.Close()
	})
}

// watch notices a connection the peer or the network closed.
func (c *Conn) watch() {
	err := c.client.Wait()
	c.fail(fmt.Errorf("node %s: connection lost: %w", c.node, err))
}

// why prefers the recorded reason (e.g. keepalive) over x/crypto's
// generic EOF once the connection is gone.
func (c *Conn) why(err error) error {
	if cerr := c.Err(); cerr != nil {
		return cerr
	}
	return err
}
