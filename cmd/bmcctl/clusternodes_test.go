package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

func TestClusterAddRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, arg, role string
		want            apitype.ClusterAddRequest
		errPart         string
	}{
		{name: "slot", arg: "4", role: "agent", want: apitype.ClusterAddRequest{Slot: 4, Role: "agent"}},
		{name: "slot as server", arg: "3", role: "server", want: apitype.ClusterAddRequest{Slot: 3, Role: "server"}},
		{name: "by address", arg: "admin@192.168.1.51=" + testNodeKey, role: "agent",
			want: apitype.ClusterAddRequest{Node: &apitype.ClusterAddrNode{Addr: "192.168.1.51", User: "admin", HostKey: testNodeKey, Role: "agent"}}},
		{name: "address without key", arg: "192.168.1.51", role: "agent", errPart: "does not trust a key on first use"},
		{name: "slot 0", arg: "0", role: "agent", errPart: "invalid slot"},
		{name: "bad role", arg: "4", role: "boss", errPart: "invalid --role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := clusterAddRequest(tc.arg, tc.role)
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

func TestClusterSummary(t *testing.T) {
	t.Parallel()
	node := func(name, action string) apitype.ClusterNode { return apitype.ClusterNode{Name: name, Action: action} }
	for _, tc := range []struct {
		name string
		job  apitype.Job
		want string
	}{
		{"up installs", apitype.Job{ID: 3, ClusterOp: "up", Cluster: []apitype.ClusterNode{node("node1", "already running"), node("node2", "installed")}},
			"cluster ready (job 3): 1 installed, 1 already running; kubeconfig: bmcctl cluster kubeconfig"},
		{"up again", apitype.Job{ID: 4, ClusterOp: "up", Cluster: []apitype.ClusterNode{node("node1", "already running"), node("node2", "already running")}},
			"cluster ready (job 4): nothing installed, every node already runs k3s; kubeconfig: bmcctl cluster kubeconfig"},
		{"remove", apitype.Job{ID: 5, ClusterOp: "remove", Cluster: []apitype.ClusterNode{node("node2", "removed")}},
			"node2 removed from the cluster (job 5): 1 removed"},
		{"down", apitype.Job{ID: 6, ClusterOp: "down", Cluster: []apitype.ClusterNode{node("node1", "removed"), node("node2", "not installed")}},
			"cluster down (job 6): 1 removed, 1 not installed; bmcd forgot its nodes, kubeconfig and token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, clusterSummary(tc.job))
		})
	}
}

// TestClusterWatch: each step, each node's progress and outcome print
// once, however often the same job arrives (events and polls overlap).
func TestClusterWatch(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	w := clusterWatch{out: &b, id: 7, doing: map[string]string{}, action: map[string]string{}}
	job := apitype.Job{ID: 7, State: "running", Step: "install-server", Cluster: []apitype.ClusterNode{{Name: "node1", Doing: "installing k3s as server"}, {Name: "node2"}}}
	w.show(job)
	w.show(job)
	job.Step = "join"
	job.Cluster = []apitype.ClusterNode{{Name: "node1", Action: "installed"}, {Name: "node2", Doing: "installing k3s as agent, joining https://10.0.0.1:6443"}}
	w.show(job)
	w.show(job)
	job.State = "failed"
	job.Cluster[1] = apitype.ClusterNode{Name: "node2", Action: "failed", Error: "k3s install as agent: exit 1"}
	w.show(job)
	assert.Equal(t, "cluster job 7: install-server\n"+
		"  node1: installing k3s as server\n"+
		"cluster job 7: join\n"+
		"  node1: installed\n"+
		"  node2: installing k3s as agent, joining https://10.0.0.1:6443\n"+
		"  node2: failed: k3s install as agent: exit 1\n", b.String())
}
