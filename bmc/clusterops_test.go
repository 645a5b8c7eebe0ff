package bmc_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/bmc/cluster/clustertest"
)

func (f *clusterFixture) wait(t *testing.T, job bmc.Job, done <-chan struct{}, err error) bmc.Job {
	t.Helper()
	require.NoError(t, err)
	<-done
	j, err := f.board.Jobs().Get(job.ID)
	require.NoError(t, err)
	return j
}

// TestClusterRemoveAddDown: the agent is drained and deleted on the
// server by the hostname preflight saw, then uninstalled; added back it
// is the only node installed; down uninstalls both and forgets the
// cluster, token included.
func TestClusterRemoveAddDown(t *testing.T) {
	t.Parallel()
	f := newClusterFixture(t)
	require.Equal(t, bmc.JobSucceeded, f.up(t, upReq).State)
	drain, err := cluster.DrainCommand("loosepi", cluster.DefaultDrainTimeout)
	require.NoError(t, err)
	del, err := cluster.DeleteNodeCommand("loosepi")
	require.NoError(t, err)
	f.server.Answers[drain] = clustertest.Answer{Stdout: "node/loosepi drained\n"}
	f.server.Answers[del] = clustertest.Answer{Stdout: "node \"loosepi\" deleted\n"}
	f.server.Answers[cluster.CmdUninstallServer] = clustertest.Answer{}
	f.agent.Answers[cluster.CmdUninstallAgent] = clustertest.Answer{}

	_, _, err = f.board.StartClusterRemove("2")
	require.ErrorIs(t, err, cluster.ErrLastServer, "slot 2 is the only server and an agent remains")
	_, _, err = f.board.StartClusterRemove("10.0.0.99")
	require.ErrorIs(t, err, bmc.ErrInvalid)

	job, done, err := f.board.StartClusterRemove("10.0.0.50")
	j := f.wait(t, job, done, err)
	require.Equal(t, bmc.JobSucceeded, j.State, j.Error)
	assert.Equal(t, bmc.ClusterOpRemove, j.Cluster.Op)
	require.Len(t, j.Cluster.Nodes, 1)
	assert.Equal(t, "removed", j.Cluster.Nodes[0].Action)
	ran := f.server.Ran()
	assert.Less(t, slices.Index(ran, drain), slices.Index(ran, del), "drained, then deleted, on the server")
	assert.NotContains(t, ran, cluster.CmdUninstallServer)
	assert.Contains(t, f.agent.Ran(), cluster.CmdUninstallAgent)
	st, err := f.board.ClusterStatus()
	require.NoError(t, err)
	require.Len(t, st.Nodes, 1)
	assert.Equal(t, "node2", st.Nodes[0].Name)
	_, err = f.board.ClusterKubeconfig()
	assert.NoError(t, err, "the first server stayed: the kubeconfig still holds")

	job, done, err = f.board.StartClusterAdd(bmc.ClusterAddRequest{Node: &bmc.ClusterAddrNode{Addr: "10.0.0.50", HostKey: loosePiKey}})
	j = f.wait(t, job, done, err)
	require.Equal(t, bmc.JobSucceeded, j.State, j.Error)
	assert.Equal(t, bmc.ClusterOpAdd, j.Cluster.Op)
	actions := map[string]string{}
	for _, n := range j.Cluster.Nodes {
		actions[n.Name] = n.Action
	}
	assert.Equal(t, map[string]string{"node2": "already running", "10.0.0.50": "installed"}, actions)
	_, _, err = f.board.StartClusterAdd(bmc.ClusterAddRequest{Slot: 2})
	assert.ErrorIs(t, err, bmc.ErrInvalid, "already a member")

	job, done, err = f.board.StartClusterDown()
	j = f.wait(t, job, done, err)
	require.Equal(t, bmc.JobSucceeded, j.State, j.Error)
	for _, n := range j.Cluster.Nodes {
		assert.Equal(t, "removed", n.Action, n.Name)
	}
	_, err = f.board.ClusterKubeconfig()
	assert.ErrorIs(t, err, bmc.ErrNoCluster)
	for _, file := range []string{"cluster.json", "kubeconfig.yaml", "cluster_token"} {
		assert.NoFileExists(t, filepath.Join(f.dir, file))
	}
	_, _, err = f.board.StartClusterDown()
	assert.ErrorIs(t, err, bmc.ErrNoCluster)
}

// TestClusterDownFailureKeepsTheCluster: a node that cannot be reached
// fails the down; bmcd keeps state, kubeconfig and token for the retry.
func TestClusterDownFailureKeepsTheCluster(t *testing.T) {
	t.Parallel()
	f := newClusterFixture(t)
	require.Equal(t, bmc.JobSucceeded, f.up(t, upReq).State)
	f.server.Answers[cluster.CmdUninstallServer] = clustertest.Answer{}
	f.agent.Answers[cluster.CmdUninstallAgent] = clustertest.Answer{Exit: 1}
	job, done, err := f.board.StartClusterDown()
	j := f.wait(t, job, done, err)
	require.Equal(t, bmc.JobFailed, j.State)
	assert.Equal(t, bmc.ClusterStepUninstallAgents, j.Step)
	byName := map[string]bmc.ClusterNode{}
	for _, n := range j.Cluster.Nodes {
		byName[n.Name] = n
	}
	assert.Equal(t, "failed", byName["10.0.0.50"].Action)
	assert.Equal(t, "not run", byName["node2"].Action, "servers stay while an agent is left")
	assert.NotContains(t, f.server.Ran(), cluster.CmdUninstallServer)
	for _, file := range []string{"cluster.json", "kubeconfig.yaml", "cluster_token"} {
		_, err := os.Stat(filepath.Join(f.dir, file))
		assert.False(t, errors.Is(err, os.ErrNotExist), "%s kept", file)
	}
}

// TestClusterRemoveFirstServer: with two servers the first may go; it is
// drained on the other, which becomes first and serves the kubeconfig.
func TestClusterRemoveFirstServer(t *testing.T) {
	t.Parallel()
	f := newClusterFixture(t)
	f.roles["10.0.0.50"] = "server"
	serverCmd, err := cluster.InstallCommand(cluster.RoleServer, "", clusterTestToken, "", true)
	require.NoError(t, err)
	joinCmd, err := cluster.InstallCommand(cluster.RoleServer, "", clusterTestToken, cluster.JoinURL("node2.local"), false)
	require.NoError(t, err)
	f.server.Answers[serverCmd] = clustertest.Answer{}
	f.agent.Answers[joinCmd] = clustertest.Answer{}
	f.agent.Answers[cluster.CmdCatKubeconfig] = clustertest.Answer{Stdout: k3sYAML}
	req := bmc.ClusterRequest{Servers: []int{2}, Nodes: []bmc.ClusterAddrNode{{Addr: "10.0.0.50", HostKey: loosePiKey, Role: "server"}}}
	j := f.up(t, req)
	require.Equal(t, bmc.JobSucceeded, j.State, j.Error)

	drain, err := cluster.DrainCommand("node2", cluster.DefaultDrainTimeout)
	require.NoError(t, err)
	del, err := cluster.DeleteNodeCommand("node2")
	require.NoError(t, err)
	f.agent.Answers[drain] = clustertest.Answer{}
	f.agent.Answers[del] = clustertest.Answer{}
	f.server.Answers[cluster.CmdUninstallServer] = clustertest.Answer{}
	job, done, err := f.board.StartClusterRemove("node2")
	j = f.wait(t, job, done, err)
	require.Equal(t, bmc.JobSucceeded, j.State, j.Error)
	assert.Contains(t, f.agent.Ran(), drain, "drained on the server that stays")
	kc, err := f.board.ClusterKubeconfig()
	require.NoError(t, err)
	assert.Contains(t, string(kc), "https://10.0.0.50:6443", "the kubeconfig now points at the server that stayed")
	st, err := f.board.ClusterStatus()
	require.NoError(t, err)
	require.Len(t, st.Nodes, 1)
	assert.Equal(t, "10.0.0.50", st.Nodes[0].Name)
}

// TestClusterJobStoppedMidInstall: a job stopped while a node's install
// runs (bmcd shutting down, or the user cancelling) ends interrupted or
// cancelled, and says what that node was doing; the nodes already done
// keep their outcome.
func TestClusterJobStoppedMidInstall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		stop          func(f *clusterFixture, id int64)
		state         bmc.JobState
		action, error string
	}{
		{"bmcd stops", func(f *clusterFixture, _ int64) { require.NoError(t, f.board.Close()) },
			bmc.JobInterrupted, bmc.ClusterActionInterrupted, "bmcd stopped while installing k3s as agent, joining https://node2.local:6443"},
		{"cancelled", func(f *clusterFixture, id int64) { _, err := f.board.Jobs().Cancel(id); require.NoError(t, err) },
			bmc.JobCancelled, "cancelled", "cancelled while installing k3s as agent, joining https://node2.local:6443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newClusterFixture(t)
			f.hang = "10.0.0.50"
			job, done, err := f.board.StartCluster(upReq)
			require.NoError(t, err)
			<-f.hanging
			tc.stop(f, job.ID)
			<-done
			j, err := f.board.Jobs().Get(job.ID)
			require.NoError(t, err)
			assert.Equal(t, tc.state, j.State)
			assert.Equal(t, bmc.ClusterStepJoin, j.Step)
			require.Len(t, j.Cluster.Nodes, 2)
			assert.Equal(t, "installed", j.Cluster.Nodes[0].Action)
			assert.Equal(t, tc.action, j.Cluster.Nodes[1].Action)
			assert.Equal(t, tc.error, j.Cluster.Nodes[1].Error)
			assert.Empty(t, j.Cluster.Nodes[1].Doing)
		})
	}
}
