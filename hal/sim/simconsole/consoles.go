package simconsole

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// DefaultLineDelay is the pause between boot-log lines when Opts.LineDelay
// is zero; a boot then takes a few seconds.
const DefaultLineDelay = 40 * time.Millisecond

// Opts configures the consoles of a simulated board.
type Opts struct {
	// Slots is the number of slots: 4 (a Turing Pi 2) or 7 (a Turing Pi
	// 1). Required.
	Slots int
	// Clock paces the boot log; nil means the real clock.
	Clock clockwork.Clock
	// Logger receives debug messages; nil discards them.
	Logger *slog.Logger
	// LineDelay is the pause between boot-log lines; zero means
	// DefaultLineDelay and a negative value no pause at all.
	LineDelay time.Duration
	// Hostname returns the host name of a slot's node; nil means
	// "node<slot>".
	Hostname func(slot int) string
	// Boot, when set, is the node's operating system starting: it is
	// called in the node's own goroutine at each power-on and reset,
	// before the boot log, and returns what the boot log shows of it. An
	// error is logged and the node boots with what OS says.
	Boot func(slot int) (OS, error)
	// Halt, when set, is called when a node that Boot started loses
	// power, is reset, or the consoles close.
	Halt func(slot int)
}

// OS is what a node's operating system shows on its console.
type OS struct {
	// Hostname is the name in the boot log and the login prompt; empty
	// means Opts.Hostname's.
	Hostname string
	// Marker, when set, is a line the node prints once its network and
	// sshd are up (a prepared image's first-boot marker).
	Marker string
}

// Consoles is one pseudo-terminal per slot; the node side (master) is
// driven by a simulated node. Its methods are safe for concurrent use.
type Consoles struct {
	ports []*port // index slot-1
	done  chan struct{}
	wg    sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// port is the pseudo-terminal of one slot.
type port struct {
	node   *node
	master *os.File
	slave  *os.File // kept open so the master never sees a hang-up
	path   string
}

// New opens a pseudo-terminal for every slot and starts its node, powered
// off.
func New(opts *Opts) (*Consoles, error) {
	if opts == nil {
		return nil, errors.New("simconsole: no options")
	}
	if opts.Slots != 4 && opts.Slots != 7 {
		return nil, fmt.Errorf("simconsole: %d slots: want 4 or 7", opts.Slots)
	}
	clock := opts.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	delay := opts.LineDelay
	switch {
	case delay == 0:
		delay = DefaultLineDelay
	case delay < 0:
		delay = 0
	}
	hostname := opts.Hostname
	if hostname == nil {
		hostname = func(slot int) string { return fmt.Sprintf("node%d", slot) }
	}

	c := &Consoles{done: make(chan struct{})}
	for slot := 1; slot <= opts.Slots; slot++ {
		master, slave, path, err := openPTY()
		if err != nil {
			closeErr := c.closeFiles()
			return nil, errors.Join(fmt.Errorf("simconsole: open console of slot %d: %w", slot, err), closeErr)
		}
		write := nonblockingWriter(master)
		c.ports = append(c.ports, &port{
			node:   newNode(slot, hostname(slot), clock, log, delay, write).withOS(opts.Boot, opts.Halt),
			master: master,
			slave:  slave,
			path:   path,
		})
		log.Debug("simconsole: console ready", "slot", slot, "device", path)
	}
	for _, p := range c.ports {
		n, master := p.node, p.master
		c.wg.Add(2)
		go func() {
			defer c.wg.Done()
			n.run(c.done)
		}()
		go func() {
			defer c.wg.Done()
			n.readLoop(master, c.done)
		}()
	}
	return c, nil
}

func (c *Consoles) port(slot int) *port {
	if slot < 1 || slot > len(c.ports) {
		return nil
	}
	return c.ports[slot-1]
}

// Device returns the path of the pseudo-terminal slave ("/dev/pts/7") that
// the daemon opens as the slot's UART, or "" for a slot the board does not
// have.
func (c *Consoles) Device(slot int) string {
	if p := c.port(slot); p != nil {
		return p.path
	}
	return ""
}

// SetPower switches the slot's node on or off. It does not wait for the
// node, so it may be called with the simulated board locked. Switching on
// an off node boots it from the start of the boot log; switching on a node
// that is on changes nothing. Switching off stops its output at once, stops
// the echo and forgets the login. A bad slot is ignored.
func (c *Consoles) SetPower(slot int, on bool) {
	if p := c.port(slot); p != nil {
		p.node.setPower(on)
	}
}

// Reset reboots the slot's node if it is on, as a pulse of its reset line
// does. Like SetPower it does not wait.
func (c *Consoles) Reset(slot int) {
	if p := c.port(slot); p != nil {
		p.node.reset()
	}
}

// Close stops every node and closes every pseudo-terminal. A daemon that
// still has a slave open then reads an error or end of file.
func (c *Consoles) Close() error {
	c.closeOnce.Do(func() {
		close(c.done)
		var errs []error
		for i, p := range c.ports {
			// Closing the master also ends readLoop's pending Read.
			if err := p.master.Close(); err != nil {
				errs = append(errs, fmt.Errorf("simconsole: close console of slot %d: %w", i+1, err))
			}
			p.master = nil
		}
		c.wg.Wait()
		errs = append(errs, c.closeFiles())
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// closeFiles closes the descriptors still open.
func (c *Consoles) closeFiles() error {
	var errs []error
	for i, p := range c.ports {
		for _, f := range []*os.File{p.master, p.slave} {
			if f == nil {
				continue
			}
			if err := f.Close(); err != nil {
				errs = append(errs, fmt.Errorf("simconsole: close console of slot %d: %w", i+1, err))
			}
		}
		p.master, p.slave = nil, nil
	}
	return errors.Join(errs...)
}
