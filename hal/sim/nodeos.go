package sim

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"

	"github.com/turingpi-oss/bmcd/hal/sim/simconsole"
	"github.com/turingpi-oss/bmcd/hal/sim/simssh"
)

// NodeSeed is what a prepared image tells a simulated node at its boot.
type NodeSeed struct {
	Hostname string
	User     string
	// AuthorizedKeys are the user's keys, in authorized_keys form.
	AuthorizedKeys []string
	HostKey        ed25519.PrivateKey
	// Marker formats the first-boot marker line for the address the
	// node's sshd listens on, exactly as the seed's script prints it.
	Marker func(addr netip.AddrPort) string
}

// SeedReader reads the seed from a slot's eMMC file. It returns false when
// the image carries none (never flashed, or flashed without preparation):
// the node then boots as before, without SSH.
type SeedReader func(emmcPath string) (NodeSeed, bool, error)

// DefaultSSHAddr is where a simulated node's sshd listens: each slot its
// own loopback address (any of 127.0.0.0/8 works on Linux) and a port
// that needs no privilege, 127.0.1.2:2202 for slot 2.
func DefaultSSHAddr(slot int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 1, byte(slot)}), uint16(2200+slot))
}

// nodeOS is the software of the simulated nodes beyond the console: the
// seed read at boot and the SSH server it configures.
type nodeOS struct {
	seed SeedReader
	addr func(slot int) netip.AddrPort
	emmc func(slot int) string
	// fault is the slot's install-hangs fault file (InstallHangPath).
	fault func(slot int) string
	log   *slog.Logger
	// k3s is the board's simulated k3s, shared by its nodes. A slot's
	// install is kept in the state directory, as on the node's disk: it
	// survives power off and on and restarts of bmcd (even a crash) while
	// the eMMC is not re-flashed.
	k3s *simssh.K3s
	// offline nodes cannot download k3s.
	offline bool

	mu      sync.Mutex
	servers map[int]*simssh.Server
}

// boot reads the slot's seed and, when the image is prepared, starts its
// sshd; see simconsole.Opts.Boot.
func (o *nodeOS) boot(slot int) (simconsole.OS, error) {
	path := o.emmc(slot)
	s, ok, err := o.seed(path)
	if err != nil {
		return simconsole.OS{}, fmt.Errorf("sim: slot %d: read seed: %w", slot, err)
	}
	if !ok {
		o.log.Debug("sim: node boots an unprepared image", "slot", slot)
		return simconsole.OS{}, nil
	}
	cfg := simssh.Config{
		Node:           simssh.Node{Hostname: s.Hostname, User: s.User},
		HostKey:        s.HostKey,
		AuthorizedKeys: s.AuthorizedKeys,
		K3s:            o.k3sNode(slot, path),
		Offline:        o.offline,
		InstallHangs: func() bool {
			_, err := os.Stat(o.fault(slot))
			return err == nil
		},
		Logger: o.log.With("slot", slot),
	}
	addr := o.addr(slot)
	srv, err := simssh.Listen(addr.String(), cfg)
	if errors.Is(err, syscall.EADDRINUSE) && addr.Port() != 0 {
		// Another program (or another simulated board) has the port: the
		// node takes any other, which its marker line tells.
		o.log.Info("sim: SSH port in use, the node takes another", "slot", slot, "addr", addr)
		srv, err = simssh.Listen(netip.AddrPortFrom(addr.Addr(), 0).String(), cfg)
	}
	if err != nil {
		return simconsole.OS{Hostname: s.Hostname}, fmt.Errorf("sim: slot %d: start sshd: %w", slot, err)
	}
	o.mu.Lock()
	o.servers[slot] = srv
	o.mu.Unlock()
	o.log.Info("sim: node boots prepared", "slot", slot, "host", s.Hostname, "ssh", srv.Addr())
	return simconsole.OS{Hostname: s.Hostname, Marker: s.Marker(srv.Addr())}, nil
}

// k3sNode is the slot's k3s, wiped when the eMMC at path changed since
// the slot last booted (re-flashed).
func (o *nodeOS) k3sNode(slot int, path string) *simssh.K3sNode {
	n := o.k3s.Node(strconv.Itoa(slot))
	gen := ""
	if fi, err := os.Stat(path); err == nil {
		gen = fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size())
	}
	key := strconv.Itoa(slot)
	last := o.k3s.Disk(key)
	o.k3s.SetDisk(key, gen)
	if last != "" && last != gen {
		o.log.Info("sim: eMMC re-flashed, k3s install gone", "slot", slot)
		n.Wipe()
	}
	if err := o.k3s.Save(); err != nil {
		o.log.Warn("sim: k3s state not saved", "slot", slot, "err", err)
	}
	return n
}

// halt stops the slot's sshd, closing its sessions.
func (o *nodeOS) halt(slot int) {
	o.mu.Lock()
	srv := o.servers[slot]
	delete(o.servers, slot)
	o.mu.Unlock()
	if srv == nil {
		return
	}
	if err := srv.Close(); err != nil {
		o.log.Warn("sim: stop sshd", "slot", slot, "err", err)
	}
}
