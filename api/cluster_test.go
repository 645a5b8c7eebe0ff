package api_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/bmc/cluster"
)

const nodeHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

// stuckDialer holds every dial until the job is cancelled.
type stuckDialer struct{ dialing chan struct{} }

func (d stuckDialer) Dial(ctx context.Context, n cluster.Node) (cluster.Runner, error) {
	select {
	case d.dialing <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return nil, fmt.Errorf("node %s: %w", n, ctx.Err())
}

func TestClusterKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var k apitype.ClusterKey
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/api/v1/cluster/key", "", &k))
	assert.Equal(t, f.board.ClusterKey(), k.PublicKey)
	assert.Contains(t, k.PublicKey, "ssh-ed25519 ")
}

func TestClusterRoutes(t *testing.T) {
	t.Parallel()
	d := stuckDialer{dialing: make(chan struct{}, 1)}
	f := newFixture(t, func(cfg *bmc.Config, _ string) {
		cfg.ClusterDialer = func(map[string]string) cluster.Dialer { return d }
	})
	var e apitype.ErrorBody
	require.Equal(t, http.StatusNotFound, f.do(t, "GET", "/api/v1/cluster", "", &e))
	assert.Equal(t, apitype.CodeNotFound, e.Error.Code)
	require.Equal(t, http.StatusNotFound, f.do(t, "GET", "/api/v1/cluster/kubeconfig", "", &e))
	assert.Contains(t, e.Error.Message, "no cluster")

	for _, tc := range []struct{ name, body, msg string }{
		{"not JSON", `{`, ""},
		{"unknown field", `{"servers":[1],"wat":1}`, ""},
		{"no server", `{"agents":[2]}`, "no server"},
		{"slot without a record", `{"servers":[1]}`, "slot 1: no node prepared by bmcd"},
		{"address without host key", `{"nodes":[{"addr":"10.0.0.5","role":"server"}]}`, "no host key"},
	} {
		var e apitype.ErrorBody
		require.Equal(t, http.StatusBadRequest, f.do(t, "POST", "/api/v1/cluster", tc.body, &e), tc.name)
		assert.Contains(t, e.Error.Message, tc.msg, tc.name)
	}
	require.Equal(t, http.StatusNotFound, f.do(t, "POST", "/api/v1/cluster", `{"servers":[9]}`, &e))

	body := `{"nodes":[{"addr":"10.0.0.5","host_key":"` + nodeHostKey + `","role":"server"}]}`
	var job apitype.Job
	require.Equal(t, http.StatusAccepted, f.do(t, "POST", "/api/v1/cluster", body, &job))
	assert.Equal(t, "cluster", job.Kind)
	require.Len(t, job.Cluster, 1)
	assert.Equal(t, apitype.ClusterNode{Name: "10.0.0.5", Addr: "10.0.0.5:22", User: "pi", HostKey: nodeHostKey, Role: "server"}, job.Cluster[0])
	<-d.dialing

	require.Equal(t, http.StatusConflict, f.do(t, "POST", "/api/v1/cluster", body, &e), "one cluster job at a time")
	assert.Equal(t, apitype.CodeBusy, e.Error.Code)
	var st apitype.ClusterStatus
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/api/v1/cluster", "", &st))
	assert.Equal(t, job.ID, st.LastJob)
	assert.Equal(t, "running", st.LastState)
	assert.False(t, st.Kubeconfig)

	require.Equal(t, http.StatusAccepted, f.do(t, "DELETE", fmt.Sprintf("/api/v1/jobs/%d", job.ID), "", nil))
	<-f.board.Jobs().Done(job.ID)
	require.Equal(t, http.StatusOK, f.do(t, "GET", fmt.Sprintf("/api/v1/jobs/%d", job.ID), "", &job))
	assert.Equal(t, "cancelled", job.State)
	assert.Equal(t, "preflight", job.Step)
	require.Equal(t, http.StatusNotFound, f.do(t, "GET", "/api/v1/cluster/kubeconfig", "", &e))
}

// TestClusterNodeRoutes: add, remove and down refuse what they cannot do
// with the status and code that say why, and queue nothing.
func TestClusterNodeRoutes(t *testing.T) {
	t.Parallel()
	d := stuckDialer{dialing: make(chan struct{}, 1)}
	var stateDir string
	f := newFixture(t, func(cfg *bmc.Config, dir string) {
		cfg.ClusterDialer = func(map[string]string) cluster.Dialer { return d }
		stateDir = dir
	})
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code, msg                string
	}{
		{"down without a cluster", "DELETE", "/api/v1/cluster", "", http.StatusNotFound, apitype.CodeNotFound, "no cluster"},
		{"remove without a cluster", "DELETE", "/api/v1/cluster/nodes/node2", "", http.StatusNotFound, apitype.CodeNotFound, "no cluster"},
		{"add neither slot nor node", "POST", "/api/v1/cluster/nodes", `{}`, http.StatusBadRequest, apitype.CodeBadRequest, "give a slot or a node"},
		{"add bad role", "POST", "/api/v1/cluster/nodes", `{"slot":2,"role":"boss"}`, http.StatusBadRequest, apitype.CodeBadRequest, "want server or agent"},
		{"add unprepared slot", "POST", "/api/v1/cluster/nodes", `{"slot":2}`, http.StatusBadRequest, apitype.CodeBadRequest, "no node prepared"},
		{"add without a cluster", "POST", "/api/v1/cluster/nodes", `{"node":{"addr":"10.0.0.6","host_key":"` + nodeHostKey + `"}}`, http.StatusNotFound, apitype.CodeNotFound, "no cluster"},
	} {
		var e apitype.ErrorBody
		require.Equal(t, tc.status, f.do(t, tc.method, tc.path, tc.body, &e), tc.name)
		assert.Equal(t, tc.code, e.Error.Code, tc.name)
		assert.Contains(t, e.Error.Message, tc.msg, tc.name)
	}

	// A cluster of one server and one agent, as a finished up leaves it.
	state := `{"nodes":[
 {"name":"10.0.0.5","addr":"10.0.0.5:22","user":"pi","host_key":"` + nodeHostKey + `","role":"server","action":"installed","ready":true},
 {"name":"10.0.0.6","addr":"10.0.0.6:22","user":"pi","host_key":"` + nodeHostKey + `","role":"agent","action":"installed","ready":true}],"last_job":0,"last_state":"","kubeconfig":false}`
	require.NoError(t, os.WriteFile(filepath.Join(stateDir, "cluster.json"), []byte(state), 0o600))

	var e apitype.ErrorBody
	require.Equal(t, http.StatusConflict, f.do(t, "DELETE", "/api/v1/cluster/nodes/10.0.0.5", "", &e))
	assert.Equal(t, apitype.CodeLastServer, e.Error.Code)
	assert.Contains(t, e.Error.Message, "last server cannot be removed while agents remain")
	require.Equal(t, http.StatusBadRequest, f.do(t, "DELETE", "/api/v1/cluster/nodes/10.0.0.9", "", &e))
	assert.Contains(t, e.Error.Message, "not a node of the cluster")
	require.Equal(t, http.StatusBadRequest, f.do(t, "POST", "/api/v1/cluster/nodes", `{"node":{"addr":"10.0.0.6","host_key":"`+nodeHostKey+`"}}`, &e))
	assert.Contains(t, e.Error.Message, "already in the cluster")
	for _, j := range f.board.Jobs().List() {
		assert.NotEqual(t, bmc.JobKindCluster, j.Kind, "a refused request queues nothing")
	}

	var job apitype.Job
	require.Equal(t, http.StatusAccepted, f.do(t, "DELETE", "/api/v1/cluster/nodes/10.0.0.6:22", "", &job))
	assert.Equal(t, "remove", job.ClusterOp)
	require.Len(t, job.Cluster, 1)
	assert.Equal(t, "10.0.0.6", job.Cluster[0].Name)
	<-d.dialing
	require.Equal(t, http.StatusConflict, f.do(t, "DELETE", "/api/v1/cluster", "", &e), "one cluster job at a time")
	assert.Equal(t, apitype.CodeBusy, e.Error.Code)
	require.Equal(t, http.StatusAccepted, f.do(t, "DELETE", fmt.Sprintf("/api/v1/jobs/%d", job.ID), "", nil))
	<-f.board.Jobs().Done(job.ID)

	require.Equal(t, http.StatusAccepted, f.do(t, "DELETE", "/api/v1/cluster", "", &job))
	assert.Equal(t, "down", job.ClusterOp)
	assert.Len(t, job.Cluster, 2)
	<-d.dialing
	require.Equal(t, http.StatusAccepted, f.do(t, "DELETE", fmt.Sprintf("/api/v1/jobs/%d", job.ID), "", nil))
	<-f.board.Jobs().Done(job.ID)
	require.Equal(t, http.StatusOK, f.do(t, "GET", fmt.Sprintf("/api/v1/jobs/%d", job.ID), "", &job))
	assert.Equal(t, "cancelled", job.State)
	assert.Equal(t, "uninstall-agents", job.Step)
	_, err := os.Stat(filepath.Join(stateDir, "cluster.json"))
	assert.NoError(t, err, "a down that did not finish keeps the cluster")
}
