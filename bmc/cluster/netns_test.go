package cluster_test

// The real-parts tier: each node is Debian's OpenSSH sshd in its own
// network, UTS and mount namespaces (clustertest.StartNetwork) running
// the k3s stand-in, reached over the test bridge by the real SSH client,
// preflight and install of this package.

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
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
		// Close waited for the connections' goroutines; the nodes see
		// every connection gone.
		for _, nd := range n.Nodes {
			waitFor(t, nd.NS+"'s ssh sessions to end", func() bool { return len(nd.Sessions()) == 0 })
		}
	})
	return p
}

// work lists a node's processes other than sshd's.
func work(nd *clustertest.NetNode) []string {
	var out []string
	for _, p := range nd.Processes() {
		if !strings.Contains(p, " sshd:") {
			out = append(out, p)
		}
	}
	return out
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
}

// TestNetnsInstallHA: three servers, the first with --cluster-init, the
// others joining it; every server answers the node list.
func TestNetnsInstallHA(t *testing.T) {
	t.Parallel()
	n := clustertest.StartNetwork(t, []clustertest.NodeSpec{{Hostname: "cp1"}, {Hostname: "cp2"}, {Hostname: "cp3"}})
	p := netnsPool(t, n)
	nodes := n.ClusterNodes()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	spec := cluster.InstallSpec{Servers: nodes, Token: cluster.NewToken(), Hostnames: hostnames(n), ReadyInterval: 100 * time.Millisecond}
	outs, err := cluster.Install(ctx, p, spec)
	require.NoError(t, err)
	require.Len(t, outs, 3)
	for _, o := range outs {
		assert.Equal(t, cluster.ActionInstalled, o.Action, o.Node)
		assert.Equal(t, cluster.RoleServer, o.Role, o.Node)
	}
	unit, err := n.Nodes[0].ReadFile("/etc/systemd/system/k3s.service")
	require.NoError(t, err)
	assert.Contains(t, string(unit), "server '--cluster-init'")
	env, err := n.Nodes[2].ReadFile("/etc/systemd/system/k3s.service.env")
	require.NoError(t, err)
	assert.Contains(t, string(env), `K3S_URL="https://`+n.Nodes[0].IP+`:6443"`)

	// The joined servers share the first one's CA and see every node.
	tok0, err := n.Nodes[0].ReadFile("/var/lib/rancher/k3s/server/token")
	require.NoError(t, err)
	for _, i := range []int{1, 2} {
		tok, err := n.Nodes[i].ReadFile("/var/lib/rancher/k3s/server/token")
		require.NoError(t, err)
		assert.Equal(t, string(tok0), string(tok), "one cluster CA and secret")
		r, err := p.Dial(ctx, nodes[i])
		require.NoError(t, err)
		res, err := r.Run(ctx, cluster.CmdGetNodes, nil)
		require.NoError(t, err)
		ready, err := cluster.ParseReadyNodes(res.Stdout)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"cp1", "cp2", "cp3"}, ready, nodes[i].Name)
		assert.Equal(t, 3, strings.Count(string(res.Stdout), `"node-role.kubernetes.io/etcd":"true"`))
	}
}

// TestNetnsJoinContract: the stand-in keeps install.sh's and k3s's rules
// for joiners — an http URL, a token whose CA hash is not the cluster's,
// a wrong secret are refused with k3s's messages and leave no service;
// the server's own K10 token joins; the uninstall script removes it; and
// it joins again air-gapped (script and binary uploaded, nothing
// downloaded), keeping its node password.
func TestNetnsJoinContract(t *testing.T) {
	t.Parallel()
	n := clustertest.StartNetwork(t, []clustertest.NodeSpec{{Hostname: "srv"}, {Hostname: "pi"}})
	p := netnsPool(t, n)
	nodes := n.ClusterNodes()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	secret := cluster.NewToken()
	_, err := cluster.Install(ctx, p, cluster.InstallSpec{Servers: nodes[:1], Token: secret, Hostnames: hostnames(n), ReadyInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	tok, err := n.Nodes[0].ReadFile("/var/lib/rancher/k3s/server/node-token")
	require.NoError(t, err)
	token := strings.TrimSpace(string(tok))
	url := cluster.JoinURL(n.Nodes[0].IP)
	agent, err := p.Dial(ctx, nodes[1])
	require.NoError(t, err)
	join := func(u, tok string) (cluster.Result, error) {
		return agent.Run(ctx, "curl -sfL https://get.k3s.io | K3S_URL='"+u+"' K3S_TOKEN='"+tok+"' sh -", nil)
	}
	for _, tc := range []struct{ name, url, token, stderr string }{
		{"http URL", "http://" + n.Nodes[0].IP + ":6443", token, "Only https:// URLs are supported for K3S_URL"},
		{"no token", url, "", "K3S_TOKEN or K3S_TOKEN_FILE is not defined"},
		{"another CA", url, "K10" + strings.Repeat("0", 64) + "::server:" + secret, "token CA hash does not match the Cluster CA certificate hash"},
		{"wrong secret", url, "K10" + token[3:67] + "::server:nope", "failed to validate token"},
	} {
		res, err := join(tc.url, tc.token)
		var exit *cluster.ExitError
		require.ErrorAs(t, err, &exit, tc.name)
		assert.Contains(t, string(res.Stderr), tc.stderr, tc.name)
		_, err = agent.Run(ctx, cluster.CmdProbeAgent, nil)
		assert.Error(t, err, "%s: no agent runs", tc.name)
	}
	_, err = join(url, token)
	require.NoError(t, err)
	_, err = agent.Run(ctx, cluster.CmdProbeAgent, nil)
	require.NoError(t, err)
	srv, err := p.Dial(ctx, nodes[0])
	require.NoError(t, err)
	require.NoError(t, cluster.WaitReady(ctx, clockwork.NewRealClock(), srv, []string{"srv", "pi"}, 100*time.Millisecond))

	// The uninstall script at install.sh's path stops and removes it.
	_, err = agent.Run(ctx, "/usr/local/bin/k3s-agent-uninstall.sh", nil)
	require.NoError(t, err)
	_, err = agent.Run(ctx, cluster.CmdProbeAgent, nil)
	assert.Error(t, err, "no agent after the uninstall")
	_, err = n.Nodes[1].ReadFile("/usr/local/bin/k3s")
	assert.Error(t, err, "binary removed")
	waitFor(t, "the agent's process to end", func() bool {
		for _, p := range n.Nodes[1].Processes() {
			if strings.Contains(p, "k3s agent") {
				return false
			}
		}
		return true
	})

	// Air-gapped, as k3s-ansible does it: the binary and the script
	// uploaded, then INSTALL_K3S_SKIP_DOWNLOAD=true; nothing is fetched.
	conn, err := p.Conn(ctx, nodes[1])
	require.NoError(t, err)
	bin, err := os.Open(clustertest.StandinBinary(t))
	require.NoError(t, err)
	defer bin.Close()
	require.NoError(t, conn.Upload(ctx, "/usr/local/bin/k3s", 0o755, bin))
	require.NoError(t, conn.Upload(ctx, "/usr/local/bin/k3s-install.sh", 0o755, bytes.NewReader(clustertest.StandinInstallScript(t))))
	res, err := conn.Run(ctx, "INSTALL_K3S_SKIP_DOWNLOAD=true K3S_URL='"+url+"' K3S_TOKEN='"+token+"' /usr/local/bin/k3s-install.sh", nil)
	require.NoError(t, err)
	assert.NotContains(t, string(res.Stdout), "Downloading")
	require.NoError(t, cluster.WaitReady(ctx, clockwork.NewRealClock(), srv, []string{"srv", "pi"}, 100*time.Millisecond))
}

// TestNetnsFaults: each fault ends in a known state with a clear error.
func TestNetnsFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		specs []clustertest.NodeSpec
		// prepare changes the nodes bmcd is given or the nodes themselves.
		prepare func(t *testing.T, n *clustertest.Network, nodes []cluster.Node)
		// preflight is what preflight's error says, "" when it passes.
		preflight string
		// install is what the install's error says.
		install string
		actions []cluster.Action
	}{
		{name: "node unreachable", specs: []clustertest.NodeSpec{{Hostname: "s"}, {Hostname: "a"}},
			prepare:   func(_ *testing.T, n *clustertest.Network, _ []cluster.Node) { n.Nodes[1].StopSSHD() },
			preflight: "reachable: node bmct", install: "connection refused",
			actions: []cluster.Action{cluster.ActionInstalled, cluster.ActionFailed}},
		{name: "wrong host key", specs: []clustertest.NodeSpec{{Hostname: "s"}, {Hostname: "a"}},
			prepare: func(t *testing.T, _ *clustertest.Network, nodes []cluster.Node) {
				k, _ := clustertest.NewKey(t)
				nodes[1].HostKey = k.PublicKey()
			},
			preflight: "host key mismatch", install: "host key mismatch",
			actions: []cluster.Action{cluster.ActionInstalled, cluster.ActionFailed}},
		{name: "duplicate hostname", specs: []clustertest.NodeSpec{{Hostname: "s"}, {Hostname: "twin"}, {Hostname: "twin"}},
			preflight: `hostname "twin" is also node bmct`,
			// Past preflight, k3s itself refuses the second twin.
			install: "Node password rejected, duplicate hostname",
			actions: []cluster.Action{cluster.ActionInstalled, cluster.ActionInstalled, cluster.ActionFailed}},
		{name: "server fails to start", specs: []clustertest.NodeSpec{{Hostname: "s", Fault: "fail-start"}, {Hostname: "a"}},
			install: "Job for k3s.service failed",
			actions: []cluster.Action{cluster.ActionFailed, cluster.ActionNotRun}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := clustertest.StartNetwork(t, tc.specs)
			p := netnsPool(t, n)
			nodes := n.ClusterNodes()
			if tc.prepare != nil {
				tc.prepare(t, n, nodes)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rep := cluster.Preflight(ctx, p, nodes, cluster.DefaultLimits)
			if tc.preflight == "" {
				require.NoError(t, rep.Err())
			} else {
				require.ErrorIs(t, rep.Err(), cluster.ErrPreflight)
				assert.Contains(t, rep.Err().Error(), tc.preflight)
			}
			spec := cluster.InstallSpec{Servers: nodes[:1], Agents: nodes[1:], Token: cluster.NewToken(), Hostnames: hostnames(n), ReadyInterval: 100 * time.Millisecond}
			outs, err := cluster.Install(ctx, p, spec)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.install)
			require.NoError(t, ctx.Err(), "failed, not timed out")
			var got []cluster.Action
			for _, o := range outs {
				got = append(got, o.Action)
			}
			sortedByName := append([]cluster.Action(nil), got...)
			assert.ElementsMatch(t, tc.actions, sortedByName, "%v", outs)
			for i, o := range outs {
				if o.Action == cluster.ActionNotRun {
					assert.Empty(t, work(n.Nodes[i]), "nothing started on %s", o.Node)
				}
			}
		})
	}
}
