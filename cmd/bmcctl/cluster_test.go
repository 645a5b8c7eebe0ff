package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

const testNodeKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

func TestClusterKeyCommand(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	r := bmcctl(t, "", "cluster", "key")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, f.board.ClusterKey()+"\n", r.stdout)
	assert.Empty(t, r.stderr)
}

func TestClusterRequestFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		servers, agents string
		nodes           []string
		want            apitype.ClusterRequest
		errPart         string
	}{
		{name: "one server, agents by range", servers: "1", agents: "2-4",
			want: apitype.ClusterRequest{Servers: []int{1}, Agents: []int{2, 3, 4}}},
		{name: "three servers", servers: "1,2,3", want: apitype.ClusterRequest{Servers: []int{1, 2, 3}}},
		{name: "mixed list", servers: "1", agents: "2,3-4", want: apitype.ClusterRequest{Servers: []int{1}, Agents: []int{2, 3, 4}}},
		{name: "node by address with user and key", servers: "1", nodes: []string{"admin@192.168.1.50=" + testNodeKey},
			want: apitype.ClusterRequest{Servers: []int{1}, Nodes: []apitype.ClusterAddrNode{{Addr: "192.168.1.50", User: "admin", HostKey: testNodeKey}}}},
		{name: "node without key", servers: "1", nodes: []string{"192.168.1.50"}, errPart: "does not trust a key on first use"},
		{name: "node without address", servers: "1", nodes: []string{"=" + testNodeKey}, errPart: "no address"},
		{name: "no server", agents: "2", errPart: "no server"},
		{name: "bad range", servers: "1", agents: "4-2", errPart: "invalid --agents"},
		{name: "slot 0", servers: "0", errPart: "invalid --servers"},
		{name: "not a number", servers: "one", errPart: "invalid --servers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := clusterRequest(tc.servers, tc.agents, tc.nodes, "")
			if tc.errPart != "" {
				require.ErrorContains(t, err, tc.errPart)
				assert.ErrorAs(t, err, new(usageError))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func clusterStatusFixture() apitype.ClusterStatus {
	return apitype.ClusterStatus{
		K3sVersion: "v1.33.1+k3s1", LastJob: 9, LastState: "succeeded", Kubeconfig: true,
		Nodes: []apitype.ClusterNode{
			{Name: "node1", Slot: 1, Addr: "10.0.0.11:22", User: "pi", Role: "server", Action: "installed", Ready: true},
			{Name: "node2", Slot: 2, Addr: "127.0.0.2:2222", User: "admin", Role: "agent", Action: "already running", Ready: true},
			{Name: "192.168.1.50", Addr: "192.168.1.50:22", User: "pi", Role: "agent", Action: "failed", Error: "k3s install as agent: exit 1"},
		},
	}
}

func TestClusterOutputGolden(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	require.NoError(t, writeClusterNodes(&b, clusterStatusFixture().Nodes))
	golden(t, "cluster-nodes", b.Bytes())
	b.Reset()
	require.NoError(t, writeInventory(&b, clusterStatusFixture()))
	golden(t, "cluster-inventory", b.Bytes())
}

// TestClusterCommandsAgainstBMCD: bmcd's refusals reach the user as one
// line, and nothing is queued.
func TestClusterCommandsAgainstBMCD(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	r := bmcctl(t, "", "cluster", "status")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "no cluster bootstrapped by bmcd yet")
	r = bmcctl(t, "", "cluster", "kubeconfig")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "no cluster bootstrapped by bmcd yet")
	r = bmcctl(t, "", "cluster", "up", "--servers", "1", "--agents", "2-3")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "slot 1: no node prepared by bmcd")
	r = bmcctl(t, "", "cluster", "up", "--agents", "2")
	assert.Equal(t, 2, r.code, "a usage error")
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"cluster", "down"}, "no cluster bootstrapped by bmcd yet"},
		{[]string{"cluster", "remove", "2"}, "no cluster bootstrapped by bmcd yet"},
		{[]string{"cluster", "add", "2"}, "slot 2: no node prepared by bmcd"},
	} {
		r = bmcctl(t, "", tc.args...)
		assert.Equal(t, 1, r.code, tc.args)
		assert.Contains(t, r.stderr, tc.msg, tc.args)
	}
	r = bmcctl(t, "", "cluster", "add")
	assert.Equal(t, 2, r.code, "add needs its node")
	r = bmcctl(t, "", "cluster", "kubeconfig", "--kubeconfig", "/tmp/kc")
	assert.Equal(t, 2, r.code, "--kubeconfig without --merge")
	assert.Empty(t, f.board.Jobs().List())
}
