package bmc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/bmc/cluster/clustertest"
	"github.com/turingpi-oss/bmcd/bmc/cluster/kubeconfig"
	"github.com/turingpi-oss/bmcd/flasher/firstboot"
	"github.com/turingpi-oss/bmcd/hal"
)

const (
	clusterTestToken = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	loosePiKey       = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
)

const k3sYAML = `apiVersion: v1
kind: Config
clusters:
- name: default
  cluster:
    certificate-authority-data: Q0E=
    server: https://127.0.0.1:6443
contexts:
- name: default
  context:
    cluster: default
    user: default
users:
- name: default
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
current-context: default
`

func healthyNode(hostname string) map[string]clustertest.Answer {
	return map[string]clustertest.Answer{
		cluster.CmdHostname:         {Stdout: hostname + "\n"},
		cluster.CmdArch:             {Stdout: "aarch64\n"},
		cluster.CmdClockTimedatectl: {Stdout: "yes\n"},
		cluster.CmdCgroupV2:         {Stdout: "cpuset cpu io memory pids\n"},
		cluster.CmdDiskFree: {Stdout: "Filesystem 1024-blocks Used Available Capacity Mounted on\n" +
			"/dev/mmcblk0p2 30000000 5000000 25000000 17% /\n"},
	}
}

// clusterFixture is a board whose slot 2 holds a node bmcd prepared
// (named after its hostname) and a loose Pi by address, both fake nodes
// that answer preflight, and the k3s install when ok.
type clusterFixture struct {
	*preparedFixture
	server, agent *clustertest.Runner
	users         map[string]string
	running       *sync.Map         // node name → k3s runs (its install ran, or it already ran)
	roles         map[string]string // node name → the role its k3s runs at once installed
	// hang names a node whose install never returns until its context
	// ends; hanging receives once it has begun.
	hang    string
	hanging chan struct{}
}

// installDialer's nodes run k3s once its install command ran on them: the
// probe after the install then finds it, as on a real node.
type installDialer struct {
	clustertest.Dialer
	roles   map[string]string
	running *sync.Map
	f       *clusterFixture
}

func (d *installDialer) Dial(ctx context.Context, n cluster.Node) (cluster.Runner, error) {
	r, err := d.Dialer.Dial(ctx, n)
	if err != nil {
		return nil, err
	}
	return &installRunner{Runner: r, name: n.Name, role: d.roles[n.Name], running: d.running, f: d.f}, nil
}

type installRunner struct {
	cluster.Runner
	name, role string
	running    *sync.Map
	f          *clusterFixture
}

func (r *installRunner) Run(ctx context.Context, cmd string, in io.Reader) (cluster.Result, error) {
	probe := map[string]string{cluster.CmdProbeServer: "server", cluster.CmdProbeAgent: "agent"}
	if role, ok := probe[cmd]; ok {
		if _, on := r.running.Load(r.name); on && role == r.role {
			return cluster.Result{}, nil
		}
	}
	if r.f.hang == r.name && strings.Contains(cmd, "get.k3s.io") {
		r.f.hanging <- struct{}{}
		<-ctx.Done()
		return cluster.Result{}, fmt.Errorf("node %s: %q: %w", r.name, cmd, ctx.Err())
	}
	res, err := r.Runner.Run(ctx, cmd, in)
	if err == nil && strings.Contains(cmd, "get.k3s.io") {
		r.running.Store(r.name, true)
	}
	if err == nil && (cmd == cluster.CmdUninstallServer || cmd == cluster.CmdUninstallAgent) {
		r.running.Delete(r.name)
	}
	return res, err
}

func newClusterFixture(t *testing.T) *clusterFixture {
	t.Helper()
	f := &clusterFixture{running: &sync.Map{}, roles: map[string]string{"node2": "server", "10.0.0.50": "agent"}, hanging: make(chan struct{}, 1)}
	f.preparedFixture = newPreparedFixture(t, func(c *bmc.Config) {
		c.ClusterDialer = func(users map[string]string) cluster.Dialer {
			f.users = users
			nodes := map[string]*clustertest.Runner{"node2": f.server, "10.0.0.50": f.agent}
			if f.agent == nil {
				delete(nodes, "10.0.0.50") // unreachable
			}
			return &installDialer{Dialer: clustertest.Dialer{Nodes: nodes}, roles: f.roles, running: f.running, f: f}
		}
	})
	// bmcd keeps its token; the fake nodes expect this one.
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "cluster_token"), []byte(clusterTestToken+"\n"), 0o600))
	serverCmd, err := cluster.InstallCommand(cluster.RoleServer, "", clusterTestToken, "", false)
	require.NoError(t, err)
	agentCmd, err := cluster.InstallCommand(cluster.RoleAgent, "", clusterTestToken, cluster.JoinURL("node2.local"), false)
	require.NoError(t, err)
	f.server = &clustertest.Runner{Name: "node2", Answers: healthyNode("node2")}
	f.server.Answers[serverCmd] = clustertest.Answer{}
	f.server.Answers[cluster.CmdGetNodes] = clustertest.Answer{Stdout: readyNodes("node2", "loosepi")}
	f.server.Answers[cluster.CmdCatKubeconfig] = clustertest.Answer{Stdout: k3sYAML}
	f.agent = &clustertest.Runner{Name: "10.0.0.50", Answers: healthyNode("loosepi")}
	f.agent.Answers[agentCmd] = clustertest.Answer{}
	return f
}

func readyNodes(names ...string) string {
	var items []string
	for _, n := range names {
		items = append(items, fmt.Sprintf(`{"metadata":{"name":%q},"status":{"conditions":[{"type":"Ready","status":"True"}]}}`, n))
	}
	return `{"items":[` + strings.Join(items, ",") + `]}`
}

func (f *clusterFixture) up(t *testing.T, req bmc.ClusterRequest) bmc.Job {
	t.Helper()
	job, done, err := f.board.StartCluster(req)
	require.NoError(t, err)
	<-done
	j, err := f.board.Jobs().Get(job.ID)
	require.NoError(t, err)
	return j
}

var upReq = bmc.ClusterRequest{Servers: []int{2}, Nodes: []bmc.ClusterAddrNode{{Addr: "10.0.0.50", HostKey: loosePiKey}}}

func TestClusterUp(t *testing.T) {
	t.Parallel()
	f := newClusterFixture(t)
	j := f.up(t, upReq)
	require.Equal(t, bmc.JobSucceeded, j.State, j.Error)
	assert.Equal(t, bmc.JobKindCluster, j.Kind)
	require.NotNil(t, j.Cluster)
	require.Len(t, j.Cluster.Nodes, 2)
	s, a := j.Cluster.Nodes[0], j.Cluster.Nodes[1]
	assert.Equal(t, bmc.ClusterNode{Name: "node2", Slot: 2, Addr: "node2.local:22", User: "pi", HostKey: f.rec.HostKey,
		Role: "server", Hostname: "node2", Action: "installed", Ready: true}, s, "the slot's record: host key pinned, account")
	assert.Equal(t, bmc.ClusterNode{Name: "10.0.0.50", Addr: "10.0.0.50:22", User: firstboot.DefaultUser, HostKey: loosePiKey,
		Role: "agent", Hostname: "loosepi", Action: "installed", Ready: true}, a, "the hostname k3s knows it by, from preflight")
	assert.Equal(t, map[string]string{"node2": "pi", "10.0.0.50": "pi"}, f.users)

	kc, err := f.board.ClusterKubeconfig()
	require.NoError(t, err)
	parsed, err := kubeconfig.Parse(kc)
	require.NoError(t, err)
	assert.Contains(t, string(kc), "https://node2.local:6443", "server URL rewritten to the server's address")
	assert.Contains(t, string(kc), "name: turingpi")
	assert.Equal(t, "turingpi", parsed.CurrentContext)
	fi, err := os.Stat(filepath.Join(f.dir, "kubeconfig.yaml"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	st, err := f.board.ClusterStatus()
	require.NoError(t, err)
	assert.Equal(t, j.ID, st.LastJob)
	assert.Equal(t, bmc.JobSucceeded, st.LastState)
	assert.True(t, st.Kubeconfig)
	assert.Equal(t, j.Cluster.Nodes, st.Nodes)

	// Again: k3s runs at both nodes' roles now; nothing is installed twice.
	j = f.up(t, upReq)
	require.Equal(t, bmc.JobSucceeded, j.State, j.Error)
	for _, n := range j.Cluster.Nodes {
		assert.Equal(t, string(cluster.ActionSkipped), n.Action, n.Name)
	}
}

func TestClusterUpFails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		fault    func(f *clusterFixture)
		step     string
		errPart  string
		nodeErrs map[string]string
	}{
		{"agent unreachable", func(f *clusterFixture) { f.agent = nil }, bmc.ClusterStepPreflight, "connection refused",
			map[string]string{"10.0.0.50": "reachable"}},
		{"clock not synchronised", func(f *clusterFixture) {
			f.server.Answers[cluster.CmdClockTimedatectl] = clustertest.Answer{Stdout: "no\n"}
		}, bmc.ClusterStepPreflight, "clock", map[string]string{"node2": "clock"}},
		{"agent install fails", func(f *clusterFixture) {
			for cmd := range f.agent.Answers {
				if strings.Contains(cmd, "get.k3s.io") {
					f.agent.Answers[cmd] = clustertest.Answer{Exit: 1}
				}
			}
		}, bmc.ClusterStepJoin, "k3s install as agent", map[string]string{"10.0.0.50": "k3s install as agent"}},
		{"kubeconfig unreadable", func(f *clusterFixture) {
			f.server.Answers[cluster.CmdCatKubeconfig] = clustertest.Answer{Stdout: "not: [yaml"}
		}, bmc.ClusterStepKubeconfig, "kubeconfig", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newClusterFixture(t)
			tc.fault(f)
			j := f.up(t, upReq)
			require.Equal(t, bmc.JobFailed, j.State)
			assert.Equal(t, tc.step, j.Step)
			assert.Contains(t, j.Error, tc.errPart)
			for _, n := range j.Cluster.Nodes {
				if want, ok := tc.nodeErrs[n.Name]; ok {
					assert.Contains(t, n.Error, want, n.Name)
				} else if tc.nodeErrs != nil {
					assert.Empty(t, n.Error, n.Name)
				}
				assert.Equal(t, tc.step == bmc.ClusterStepKubeconfig, n.Ready, "ready only once the install saw every node Ready: %s", n.Name)
			}
			_, err := f.board.ClusterKubeconfig()
			assert.ErrorIs(t, err, bmc.ErrNoCluster, "no kubeconfig kept from a failed job")
		})
	}
}

func TestClusterRequestRefused(t *testing.T) {
	t.Parallel()
	f := newClusterFixture(t)
	for _, tc := range []struct {
		name    string
		req     bmc.ClusterRequest
		errPart string
		is      error
	}{
		{"no server", bmc.ClusterRequest{Agents: []int{2}}, "no server", bmc.ErrInvalid},
		{"slot without a record", bmc.ClusterRequest{Servers: []int{1}}, "slot 1: no node prepared by bmcd", bmc.ErrInvalid},
		{"no such slot", bmc.ClusterRequest{Servers: []int{9}}, "slot 9", hal.ErrNoSlot},
		{"address without host key", bmc.ClusterRequest{Servers: []int{2}, Nodes: []bmc.ClusterAddrNode{{Addr: "10.0.0.50"}}},
			"no host key", bmc.ErrInvalid},
		{"bad host key", bmc.ClusterRequest{Servers: []int{2}, Nodes: []bmc.ClusterAddrNode{{Addr: "10.0.0.50", HostKey: "ssh-ed25519 nope"}}},
			"not an OpenSSH public key", bmc.ErrInvalid},
		{"bad role", bmc.ClusterRequest{Servers: []int{2}, Nodes: []bmc.ClusterAddrNode{{Addr: "10.0.0.50", HostKey: loosePiKey, Role: "boss"}}},
			"want server or agent", bmc.ErrInvalid},
		{"slot twice", bmc.ClusterRequest{Servers: []int{2}, Agents: []int{2}}, "given twice", bmc.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.board.StartCluster(tc.req)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.errPart)
			assert.True(t, errors.Is(err, tc.is), "%v is not %v", err, tc.is)
		})
	}
	for _, j := range f.board.Jobs().List() {
		assert.NotEqual(t, bmc.JobKindCluster, j.Kind, "a refused request queues nothing")
	}
	_, err := f.board.ClusterStatus()
	assert.ErrorIs(t, err, bmc.ErrNoCluster)
}

// TestClusterJobInterruptedHistory: a cluster job live when bmcd stopped
// comes back interrupted with no slot to put back, and an old history
// without kinds still reads as flash jobs.
func TestClusterJobInterruptedHistory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hist := `{"version":1,"next_id":3,"jobs":[
 {"id":1,"slot":2,"image":"old.img","options":{"power_on":false},"state":"succeeded","progress":{"phase":"done","bytes_in":0,"bytes_written":0,"bytes_verified":0,"total":0,"rate":0,"eta":0},"created":"2026-12-01T00:00:00Z"},
 {"id":2,"kind":"cluster","slot":0,"image":"k3s cluster","options":{"power_on":false},"state":"running","step":"install","progress":{"phase":"","bytes_in":0,"bytes_written":0,"bytes_verified":0,"total":0,"rate":0,"eta":0},"created":"2026-12-01T00:00:00Z","cluster":{"nodes":[{"name":"node2","slot":2,"addr":"node2.local:22","user":"pi","host_key":"x","role":"server","action":"installed"},{"name":"node3","slot":3,"addr":"node3.local:22","user":"pi","host_key":"x","role":"agent","doing":"installing k3s as agent"},{"name":"node4","slot":4,"addr":"node4.local:22","user":"pi","host_key":"x","role":"agent"}]}}]}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "jobs.json"), []byte(hist), 0o600))
	hw := newSim(t, dir, 4)
	b := newBoard(t, hw, dir)
	jobs := b.Jobs().List()
	require.Len(t, jobs, 2)
	assert.Equal(t, bmc.JobInterrupted, jobs[0].State)
	assert.Equal(t, bmc.JobKindCluster, jobs[0].Kind)
	assert.Empty(t, jobs[1].Kind, "no kind: a flash job")
	assert.Empty(t, transitions(hw), "no slot was touched for the cluster job")
	st, err := b.ClusterStatus()
	require.NoError(t, err)
	assert.Equal(t, int64(2), st.LastJob)
	assert.Equal(t, bmc.JobInterrupted, st.LastState)
	assert.Equal(t, "node2", st.Nodes[0].Name)
	// The nodes' state is known: done, interrupted halfway, not started.
	assert.Equal(t, "installed", st.Nodes[0].Action)
	assert.Equal(t, bmc.ClusterActionInterrupted, st.Nodes[1].Action)
	assert.Equal(t, "bmcd stopped while installing k3s as agent", st.Nodes[1].Error)
	assert.Empty(t, st.Nodes[1].Doing)
	assert.Empty(t, st.Nodes[2].Action)
}
