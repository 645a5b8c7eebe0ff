package api_test

import (
	"context"
	"fmt"
	"net/http"
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
