package simssh

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"
)

// The paths an air-gap install uses, as k3s's air-gap docs give them.
const (
	k3sBinaryPath = "/usr/local/bin/k3s"
	// scriptShebang starts k3s's install script.
	scriptShebang = "#!/bin/sh"
)

// ELF machine numbers of the binaries k3s ships.
const (
	emARM     = 40
	emX86_64  = 62
	emAARCH64 = 183
)

// elfArch maps k3s's architecture names to ELF class and machine.
var elfArch = map[string]struct {
	class   byte
	machine uint16
}{
	"amd64": {2, emX86_64},
	"arm64": {2, emAARCH64},
	"arm":   {1, emARM},
}

// ELFHeader returns the first bytes of a Linux executable for arch
// (amd64, arm64 or arm, as k3s names them): what the simulated node reads
// to decide whether it can run a k3s binary it was given. A test's
// stand-in for k3s, k3s-arm64 or k3s-armhf starts with it.
func ELFHeader(arch string) []byte {
	a, ok := elfArch[arch]
	if !ok {
		return nil
	}
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = a.class, 1, 1         // class, little-endian, version 1
	binary.LittleEndian.PutUint16(h[16:], 2) // ET_EXEC
	binary.LittleEndian.PutUint16(h[18:], a.machine)
	return h
}

// canExec reports whether a node whose uname -m is machine can execute
// a file starting with head, and if not, why, as the kernel says it.
func canExec(machine string, head []byte) (bool, string) {
	if len(head) < 20 || string(head[:4]) != "\x7fELF" {
		return false, "Exec format error"
	}
	var m uint16
	if head[5] == 1 {
		m = binary.LittleEndian.Uint16(head[18:])
	}
	switch machine {
	case "aarch64":
		// A 64-bit Arm kernel runs 32-bit Arm programs too (Pi kernels
		// are built with COMPAT).
		return m == emAARCH64 || m == emARM, "Exec format error"
	case "armv7l", "armv8l":
		return m == emARM, "Exec format error"
	case "x86_64":
		return m == emX86_64, "Exec format error"
	}
	return false, "Exec format error"
}

// InstallLatency is how long the simulated k3s takes to come up, so
// benchmarks and `make run` can show the shape of a real bootstrap: each
// install returns only after this long, as `systemctl restart k3s` does
// once k3s reports ready. Zero (the default) is immediate.
type InstallLatency struct {
	FirstServer time.Duration // a server starting a cluster
	ServerJoin  time.Duration // a server joining one (embedded etcd)
	Agent       time.Duration // an agent joining
}

// SetInstallLatency sets how long installs take from now on.
func (w *K3s) SetInstallLatency(l InstallLatency) {
	w.mu.Lock()
	w.latency = l
	w.mu.Unlock()
}

// startDelay waits the modelled time for an install of role. A server
// joining a cluster also waits for the cluster's learner slot: embedded
// etcd adds it as a learner and refuses a second learner until the first
// is promoted, which k3s (since v1.27, k3s#7351) retries until it
// succeeds. It returns the func that frees the slot once the join ends.
func (n *K3sNode) startDelay(role string, joining bool) (done func()) {
	w := n.w
	w.mu.Lock()
	d := w.latency.FirstServer
	switch {
	case role == "agent":
		d = w.latency.Agent
	case joining:
		d = w.latency.ServerJoin
	}
	done = func() {}
	if role == "server" && joining {
		for w.learner != nil {
			w.learnerFree.Wait()
		}
		w.learner = n
		done = func() {
			w.mu.Lock()
			w.learner = nil
			w.learnerFree.Broadcast()
			w.mu.Unlock()
		}
	}
	w.mu.Unlock()
	if d > 0 {
		time.Sleep(d) // the modelled start-up; nothing to wait on in a simulation
	}
	return done
}

// script runs `sh FILE ARGS` with env: the only script the simulated node
// knows is k3s's install script, uploaded by an air-gap install. With
// INSTALL_K3S_SKIP_DOWNLOAD=true it installs the binary already at
// /usr/local/bin/k3s, which must be there, executable, and for a machine
// the node can run; without, it downloads as the online install does
// (and fails offline).
func (s *Server) script(env map[string]string, args []string, out, errw io.Writer) uint32 {
	if len(args) == 0 {
		fmt.Fprintln(errw, "sh: simulated node: only sh FILE [ARGS]")
		return 2
	}
	f, ok := s.files.get(args[0])
	if !ok {
		fmt.Fprintf(errw, "sh: 0: cannot open %s: No such file\n", args[0])
		return 2
	}
	if !strings.HasPrefix(string(f.head), scriptShebang) {
		fmt.Fprintf(errw, "sh: simulated node: %s is not k3s's install script (no %s line)\n", args[0], scriptShebang)
		return 2
	}
	if s.k3s == nil {
		fmt.Fprintln(errw, "sh: simulated node: this node has no k3s stand-in")
		return 1
	}
	var execErr string
	if env["INSTALL_K3S_SKIP_DOWNLOAD"] == "true" {
		bin, ok := s.files.get(k3sBinaryPath)
		if !ok || bin.mode&0o111 == 0 {
			fmt.Fprintf(errw, "[ERROR]  Executable k3s binary not found at %s\n", k3sBinaryPath)
			return 1
		}
		if ok, why := canExec(s.node.machine(), bin.head); !ok {
			execErr = why
		}
	} else if s.offline {
		fmt.Fprintln(out, "[INFO]  Finding release for channel stable")
		fmt.Fprintln(errw, "[ERROR]  Download failed")
		return 1
	}
	return s.k3s.install(env, args[1:], execErr, out, errw)
}
