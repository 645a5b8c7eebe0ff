package simkube_test

import (
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal/sim/simkube"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// cluster is a running API with a node list the test changes.
type cluster struct {
	creds *simkube.Credentials
	srv   *simkube.Server
	clock *clockwork.FakeClock

	mu    sync.Mutex
	nodes []simkube.Node
}

func (c *cluster) ListNodes() []simkube.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]simkube.Node(nil), c.nodes...)
}

func (c *cluster) set(nodes ...simkube.Node) {
	c.mu.Lock()
	c.nodes = nodes
	c.mu.Unlock()
}

// startCluster serves a cluster of a Ready server node1 (5 minutes old)
// and a powered-off agent node2 (4 minutes old) on 127.0.0.1.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	creds, err := simkube.NewCredentials(t0)
	require.NoError(t, err)
	c := &cluster{creds: creds, clock: clockwork.NewFakeClockAt(t0.Add(5 * time.Minute))}
	c.set(
		simkube.Node{Name: "node1", InternalIP: "127.0.1.1", Server: true, Etcd: true, Ready: true, KubeletVersion: "v1.33.1+k3s1", Created: t0},
		simkube.Node{Name: "node2", InternalIP: "127.0.1.2", Ready: false, KubeletVersion: "v1.33.1+k3s1", Created: t0.Add(time.Minute)},
	)
	srv, err := simkube.Listen("127.0.0.1:0", []string{"node1"}, simkube.Config{
		Credentials: creds, Nodes: c, Version: "v1.33.1+k3s1", Clock: c.clock,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	c.srv = srv
	return c
}
