package clustertest

import (
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReclaimStaleBridge: a test network left by a killed test binary
// (its owner process gone) is removed with its namespace and processes
// and can be claimed again; a live owner's is left alone.
func TestReclaimStaleBridge(t *testing.T) {
	RequireNetns(t)
	_, bridge, err := claimBridge()
	require.NoError(t, err)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", bridge).Run() })
	assert.False(t, reclaim(bridge), "its owner, this process, is alive")

	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	require.NoError(t, run("ip", "link", "set", bridge, "alias", ownerAlias+strconv.Itoa(dead.Process.Pid)))
	ns := bridge + "-0"
	require.NoError(t, run("ip", "netns", "add", ns))
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	sleeper := exec.Command("ip", "netns", "exec", ns, "sleep", "300")
	require.NoError(t, sleeper.Start())
	waited := make(chan error, 1)
	go func() { waited <- sleeper.Wait() }()
	require.Eventually(t, func() bool { return slices.Contains(nsPids(ns), sleeper.Process.Pid) }, 10*time.Second, 5*time.Millisecond,
		"the sleeper never entered the namespace")

	require.True(t, reclaim(bridge))
	select {
	case <-waited: // killed, not left running
	case <-time.After(10 * time.Second):
		t.Fatal("the stale namespace's process was not killed")
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	require.NoError(t, err)
	assert.NotContains(t, strings.Fields(string(out)), ns)
	assert.Error(t, exec.Command("ip", "link", "show", bridge).Run(), "bridge removed")
}
