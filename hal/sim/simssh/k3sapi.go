package simssh

import (
	"errors"
	"net"
	"strconv"
	"syscall"

	"github.com/turingpi-oss/bmcd/hal/sim/simkube"
)

// nodeAPI is a server node's running Kubernetes API and what it was
// started for: a node that moves to another cluster or address gets a
// new one.
type nodeAPI struct {
	srv     *simkube.Server
	cluster *k3sCluster
	host    string
}

// apiPort is the port n's API listens on: 6443, or the one it took
// when another program had 6443. Callers hold w.mu.
func (n *K3sNode) apiPort() string {
	if n.api == nil {
		return k3sAPIPort
	}
	return strconv.Itoa(int(n.api.srv.Addr().Port()))
}

// runsAPI reports whether n's k3s server is running: installed as a
// server, in a cluster, and powered. Callers hold w.mu.
func (n *K3sNode) runsAPI() bool {
	return n.role == "server" && n.cluster != nil && n.host != ""
}

// reconcileAPIs starts the API of every running server that has none
// and stops those of servers that stopped (powered off, uninstalled,
// re-flashed, or now in another cluster). It runs after every change,
// without w.mu held: a stopping API waits for its requests, which list
// the nodes under w.mu.
func (w *K3s) reconcileAPIs() {
	w.apiMu.Lock()
	defer w.apiMu.Unlock()
	type start struct {
		n    *K3sNode
		host string
		c    *k3sCluster
	}
	var stops []*simkube.Server
	var starts []start
	w.mu.Lock()
	for _, n := range w.nodes {
		if a := n.api; a != nil && (w.closed || !n.runsAPI() || a.cluster != n.cluster || a.host != n.host) {
			stops = append(stops, a.srv)
			n.api = nil
		}
		if !w.closed && n.runsAPI() && n.api == nil {
			starts = append(starts, start{n, n.host, n.cluster})
		}
	}
	w.mu.Unlock()
	for _, s := range stops {
		if err := s.Close(); err != nil {
			w.log.Warn("simssh: stop k3s API", "addr", s.Addr(), "err", err)
		}
		w.log.Info("simssh: k3s API stopped", "url", s.URL())
	}
	for _, st := range starts {
		srv, err := w.listenAPI(st.n, st.host, st.c)
		if err != nil {
			w.log.Warn("simssh: start k3s API", "host", st.host, "err", err)
			continue
		}
		w.mu.Lock()
		// Only reconcileAPIs changes n.api, and it holds apiMu: the node
		// still wants this API unless its state moved on meanwhile, in
		// which case the next reconcile (queued behind apiMu) fixes it.
		st.n.api = &nodeAPI{srv: srv, cluster: st.c, host: st.host}
		w.mu.Unlock()
		w.log.Info("simssh: k3s API listening", "node", st.n.key, "url", srv.URL())
	}
}

// listenAPI starts a server node's API on its address, port 6443, or on
// any port when another program (or another simulated board's node) has
// 6443 there: k3s.yaml then names that port, as with k3s's
// --https-listen-port.
func (w *K3s) listenAPI(n *K3sNode, host string, c *k3sCluster) (*simkube.Server, error) {
	w.mu.Lock()
	hostname, version := n.hostname, n.version
	w.mu.Unlock()
	cfg := simkube.Config{
		Credentials: c.creds, Nodes: clusterNodes{w, c}, Version: version, Clock: w.clock,
		Logger: w.log.With("k3s-api", host),
	}
	addr := net.JoinHostPort(host, k3sAPIPort)
	srv, err := simkube.Listen(addr, []string{hostname}, cfg)
	if errors.Is(err, syscall.EADDRINUSE) {
		srv, err = simkube.Listen(net.JoinHostPort(host, "0"), []string{hostname}, cfg)
	}
	return srv, err
}

// Close stops every node's API, as the board going away does.
func (w *K3s) Close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.reconcileAPIs()
}

// clusterNodes lists a cluster's members for its API: every node that
// joined, in join order, Ready while powered.
type clusterNodes struct {
	w *K3s
	c *k3sCluster
}

var _ simkube.NodeLister = clusterNodes{}

func (l clusterNodes) ListNodes() []simkube.Node {
	l.w.mu.Lock()
	defer l.w.mu.Unlock()
	nodes := make([]simkube.Node, 0, len(l.c.members))
	for _, m := range l.c.members {
		nodes = append(nodes, simkube.Node{
			Name: m.hostname, InternalIP: m.lastHost,
			Server: m.role == "server", Etcd: m.etcd,
			Ready: m.host != "", KubeletVersion: m.version,
			Arch: m.arch, KernelVersion: kernelRelease, Created: m.joined,
		})
	}
	return nodes
}
