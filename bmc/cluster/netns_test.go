package cluster_test

// The real-parts tier: each node is Debian's OpenSSH sshd in its own
// network, UTS and mount namespaces (clustertest.StartNetwork) running
// the k3s stand-in, reached over the test bridge by the real SSH client,
// preflight and install of this package.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/bmc/cluster/clustertest"
)

// netnsPool dials the network's nodes with its client key; it is closed
// at cleanup, and then no connection goroutine may be left.
func netnsPool(t *testing.T, n *clustertest.Network) *cluster.Pool {
	t.Helper()
	p := cluster.NewPool(cluster.Config{Signer: n.ClientKey, HandshakeTimeout: 10 * time.Second})
	t.Cleanup(func() {
		require.NoError(t, p.Close())
	})
	return p
}

func hostnames(n *clustertest.Network) map[string]string {
	m := map[string]string{}
	for _, nd := range n.Nodes {
		m[nd.NS] = nd.Hostname
	}
	return m
}

func TestNetnsInstallServerAndAgents(t *testing.T) {
	t.Parallel()
	n := clustertest.StartNetwork(t, []clustertest.NodeSpec{{Hostname: "srv1"}, {Hostname: "agent1"}, {Hostname: "agent2"}})
	p := netnsPool(t, n)
	nodes := n.ClusterNodes()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	rep := cluster.Preflight(ctx, p, nodes, cluster.DefaultLimits)
	require.NoError(t, rep.Err())
	assert.Equal(t, "srv1", rep.Facts[nodes[0].Name].Hostname, "the node's own UTS namespace")

	spec := cluster.InstallSpec{Servers: nodes[:1], Agents: nodes[1:], Token: cluster.NewToken(),
		Version: "v1.33.2+k3s1", Hostnames: hostnames(n), ReadyInterval: 100 * time.Millisecond}
	outs, err := cluster.Install(ctx, p, spec)
	require.NoError(t, err)
	for _, o := range outs {
		assert.Equal(t, cluster.ActionInstalled, o.Action, o.Node)
	}

	// What install.sh leaves, on the node.
	srv, agent := n.Nodes[0], n.Nodes[1]
	tok, err := srv.ReadFile("/var/lib/rancher/k3s/server/node-token")
	require.NoError(t, err)
	assert.Regexp(t, `^K10[0-9a-f]{64}::server:`+spec.Token+"\n$", string(tok))
	env, err := agent.ReadFile("/etc/systemd/system/k3s-agent.service.env")
	require.NoError(t, err)
	assert.Contains(t, string(env), `K3S_URL="https://`+srv.IP+`:6443"`)
	assert.Contains(t, string(env), `K3S_TOKEN="`+spec.Token+`"`)
	for _, f := range []string{"/usr/local/bin/k3s-agent-uninstall.sh", "/usr/local/bin/k3s-killall.sh", "/etc/systemd/system/k3s-agent.service"} {
		_, err := agent.ReadFile(f)
		assert.NoError(t, err, f)
	}
	_, err = agent.ReadFile("/etc/rancher/k3s/k3s.yaml")
	assert.Error(t, err, "an agent has no admin kubeconfig")

	r, err := p.Dial(ctx, nodes[0])
	require.NoError(t, err)
	res, err := r.Run(ctx, cluster.CmdGetNodes, nil)
	require.NoError(t, err)
	ready, err := cluster.ParseReadyNodes(res.Stdout)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"srv1", "agent1", "agent2"}, ready)
	assert.Contains(t, string(res.Stdout), `"v1.33.2+k3s1"`, "the version asked for")

	kc, err := cluster.FetchKubeconfig(ctx, r, "turingpi", srv.IP)
	require.NoError(t, err)
	data, err := kc.Marshal()
	require.NoError(t, err)
	assert.Contains(t, string(data), "https://"+srv.IP+":6443")

	// Again: converges without installing anything.
	outs, err = cluster.Install(ctx, p, spec)
	require.NoError(t, err)
	for _, o := range outs {
		assert.Equal(t, cluster.ActionSkipped, o.Action, o.Node)
	}
	_ = strings.TrimSpace
}
