package bmc_test

// The cluster job end to end with real parts: bmcd's own SSH key and
// client, Debian sshd nodes in their own namespaces running the k3s
// stand-in, given by address with their host keys, and the real kubectl
// reading the kubeconfig bmcd kept.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/bmc/cluster/clustertest"
)

// netnsCluster is a board and a test network whose nodes trust its key.
func netnsCluster(t *testing.T, specs []clustertest.NodeSpec) (*bmc.Board, *clustertest.Network, string) {
	t.Helper()
	clustertest.RequireNetns(t)
	dir := t.TempDir()
	b := newBoard(t, newSim(t, dir, 4), dir)
	n := clustertest.StartNetwork(t, specs, b.ClusterKey())
	return b, n, dir
}

// addrNodes gives the network's nodes by address, the first as server.
func addrNodes(n *clustertest.Network, servers int) []bmc.ClusterAddrNode {
	var out []bmc.ClusterAddrNode
	for i, nd := range n.Nodes {
		role := "agent"
		if i < servers {
			role = "server"
		}
		out = append(out, bmc.ClusterAddrNode{Addr: nd.Addr, User: "root", Role: role,
			HostKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(nd.HostKey)))})
	}
	return out
}

// waitNoSessions waits until no node has an SSH session left: the job
// closed every connection it opened.
func waitNoSessions(t *testing.T, n *clustertest.Network) {
	t.Helper()
	for _, nd := range n.Nodes {
		require.Eventually(t, func() bool { return len(nd.Sessions()) == 0 }, 10*time.Second, 5*time.Millisecond,
			"%s still has ssh sessions: %v", nd.NS, nd.Sessions())
	}
}

// waitNoProcesses waits until nothing bmcd started runs on nd any more:
// a killed process is gone once its parent has reaped it, a moment after
// the signal.
func waitNoProcesses(t *testing.T, nd *clustertest.NetNode, msg string) {
	t.Helper()
	require.Eventually(t, func() bool { return len(nd.Processes()) == 0 }, 10*time.Second, 5*time.Millisecond,
		"%s: %v", msg, nd.Processes())
}

func requireKubectl(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kubectl")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("kubectl not installed (Debian package kubernetes-client); required under CI=true")
	}
	t.Skip("kubectl not installed (Debian package kubernetes-client)")
	return ""
}

func TestClusterJobNetns(t *testing.T) {
	t.Parallel()
	kubectl := requireKubectl(t)
	b, n, dir := netnsCluster(t, []clustertest.NodeSpec{{Hostname: "tp-server"}, {Hostname: "tp-agent1"}, {Hostname: "tp-agent2"}})
	job, done, err := b.StartCluster(bmc.ClusterRequest{Nodes: addrNodes(n, 1), Version: "v1.33.2+k3s1"})
	require.NoError(t, err)
	<-done
	j, err := b.Jobs().Get(job.ID)
	require.NoError(t, err)
	require.Equal(t, bmc.JobSucceeded, j.State, j.Error)
	require.Len(t, j.Cluster.Nodes, 3)
	for _, nd := range j.Cluster.Nodes {
		assert.Equal(t, "installed", nd.Action, nd.Name)
		assert.True(t, nd.Ready, nd.Name)
		assert.Empty(t, nd.Error, nd.Name)
	}
	waitNoSessions(t, n)

	kc, err := b.ClusterKubeconfig()
	require.NoError(t, err)
	assert.Contains(t, string(kc), "https://"+n.Nodes[0].IP+":6443")
	kcPath := filepath.Join(dir, "kc")
	require.NoError(t, os.WriteFile(kcPath, kc, 0o600))
	out, err := exec.Command(kubectl, "--kubeconfig", kcPath, "get", "nodes", "-o", "json").Output()
	require.NoError(t, err, "kubectl: %s", exitStderr(err))
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(out, &list))
	var names []string
	for _, it := range list.Items {
		names = append(names, it.Metadata.Name)
	}
	assert.ElementsMatch(t, []string{"tp-server", "tp-agent1", "tp-agent2"}, names)
	out, err = exec.Command(kubectl, "--kubeconfig", kcPath, "get", "nodes").Output()
	require.NoError(t, err, "kubectl: %s", exitStderr(err))
	assert.Regexp(t, `(?m)^tp-server\s+Ready\s+control-plane,master\s+\S+\s+v1\.33\.2\+k3s1$`, string(out))
	assert.Regexp(t, `(?m)^tp-agent1\s+Ready\s+<none>`, string(out))
	out, err = exec.Command(kubectl, "--kubeconfig", kcPath, "config", "current-context").Output()
	require.NoError(t, err)
	assert.Equal(t, bmc.ClusterName+"\n", string(out))
}

// TestClusterJobNetnsPreflightRefuses: nodes sharing a hostname, and a
// node presenting another host key than given, stop the job at preflight
// with every node's reason; nothing is installed anywhere.
func TestClusterJobNetnsPreflightRefuses(t *testing.T) {
	t.Parallel()
	b, n, _ := netnsCluster(t, []clustertest.NodeSpec{{Hostname: "srv"}, {Hostname: "twin"}, {Hostname: "twin"}, {Hostname: "imposter"}})
	nodes := addrNodes(n, 1)
	other, _ := clustertest.NewKey(t)
	nodes[3].HostKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other.PublicKey())))
	job, done, err := b.StartCluster(bmc.ClusterRequest{Nodes: nodes})
	require.NoError(t, err)
	<-done
	j, err := b.Jobs().Get(job.ID)
	require.NoError(t, err)
	require.Equal(t, bmc.JobFailed, j.State)
	assert.Equal(t, bmc.ClusterStepPreflight, j.Step)
	assert.Contains(t, j.Error, "preflight check failed")
	byName := map[string]string{}
	for _, nd := range j.Cluster.Nodes {
		byName[nd.Name] = nd.Error
		assert.Empty(t, nd.Action, "nothing installed on %s", nd.Name)
	}
	assert.Empty(t, byName[n.Nodes[0].IP])
	assert.Contains(t, byName[n.Nodes[1].IP], `hostname: hostname "twin" is also node `+n.Nodes[2].IP)
	assert.Contains(t, byName[n.Nodes[2].IP], `hostname: hostname "twin" is also node `+n.Nodes[1].IP)
	assert.Contains(t, byName[n.Nodes[3].IP], "host key mismatch")
	waitNoSessions(t, n)
	for _, nd := range n.Nodes {
		waitNoProcesses(t, nd, "nothing runs on "+nd.NS)
	}
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// waitHung waits until the node's install hangs (the stand-in's
// hang-install fault).
func waitHung(t *testing.T, nd *clustertest.NetNode) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, p := range nd.Processes() {
			if strings.Contains(p, "standin-install") {
				return true
			}
		}
		return false
	}, 30*time.Second, 5*time.Millisecond, "the install on %s never reached the hang", nd.NS)
}

// TestClusterJobNetnsHungInstall: a node whose install hangs holds the
// job. Cancelled, the job ends cancelled; bmcd stopping ends it
// interrupted; either way the install's processes on the node are killed
// and no connection is left. bmcd started again on the same state
// directory keeps its token, and `cluster up` again finishes the cluster,
// installing only what is missing.
func TestClusterJobNetnsHungInstall(t *testing.T) {
	t.Parallel()
	b, n, dir := netnsCluster(t, []clustertest.NodeSpec{{Hostname: "srv"}, {Hostname: "late", Fault: "hang-install"}})
	req := bmc.ClusterRequest{Nodes: addrNodes(n, 1)}
	late := n.Nodes[1]

	job, done, err := b.StartCluster(req)
	require.NoError(t, err)
	waitHung(t, late)
	_, err = b.Jobs().Cancel(job.ID)
	require.NoError(t, err)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the cancelled job did not end")
	}
	j, err := b.Jobs().Get(job.ID)
	require.NoError(t, err)
	assert.Equal(t, bmc.JobCancelled, j.State, j.Error)
	assert.Equal(t, bmc.ClusterStepJoin, j.Step)
	for _, nd := range j.Cluster.Nodes {
		if nd.Name == late.IP {
			assert.Equal(t, "cancelled", nd.Action)
			assert.Contains(t, nd.Error, "cancelled while installing k3s as agent")
		} else {
			assert.Equal(t, "installed", nd.Action)
		}
		assert.False(t, nd.Ready, nd.Name)
	}
	waitNoSessions(t, n)
	waitNoProcesses(t, late, "the hung install was killed")
	_, err = b.ClusterKubeconfig()
	assert.ErrorIs(t, err, bmc.ErrNoCluster, "no kubeconfig from a cancelled job")

	job, done, err = b.StartCluster(req)
	require.NoError(t, err)
	waitHung(t, late)
	require.NoError(t, b.Close())
	<-done
	waitNoSessions(t, n)
	waitNoProcesses(t, late, "the hung install was killed when bmcd stopped")

	b2 := newBoard(t, newSim(t, dir, 4), dir)
	j, err = b2.Jobs().Get(job.ID)
	require.NoError(t, err)
	assert.Equal(t, bmc.JobInterrupted, j.State, j.Error)
	require.NoError(t, late.WriteFile("/etc/rancher/standin-fault", nil), "the node is fixed")
	job, done, err = b2.StartCluster(req)
	require.NoError(t, err)
	<-done
	j, err = b2.Jobs().Get(job.ID)
	require.NoError(t, err)
	require.Equal(t, bmc.JobSucceeded, j.State, j.Error)
	assert.Equal(t, "already running", j.Cluster.Nodes[0].Action, "the server kept running with bmcd's token")
	assert.Equal(t, "installed", j.Cluster.Nodes[1].Action)
	waitNoSessions(t, n)
}
