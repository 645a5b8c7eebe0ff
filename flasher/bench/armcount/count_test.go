package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireTool fails under CI=true when a Debian tool the test needs is
// missing (.ci/deps.sh installs it), and skips elsewhere.
func requireTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (Debian package %s) is required under CI=true", name, pkg)
	}
	t.Skipf("%s not installed (Debian package %s)", name, pkg)
}

// TestCountKnownLoop checks the method end to end on a loop whose cost
// is known: two instructions per iteration, so the counts for n and 3n
// iterations differ by exactly 4n, every time.
func TestCountKnownLoop(t *testing.T) {
	t.Parallel()
	requireTool(t, "qemu-arm", "qemu-user")
	requireTool(t, "gcc", "gcc")
	dir := t.TempDir()
	plugin, err := buildPlugin(dir)
	require.NoError(t, err)
	guest := filepath.Join(dir, "loop")
	require.NoError(t, buildGuest("./testdata/loop", guest))

	const n = 100000
	first, err := count(plugin, guest, "100000", "300000")
	require.NoError(t, err)
	require.Len(t, first, 2)
	assert.Equal(t, uint64(4*n), first[1].insns-first[0].insns, "two instructions per iteration")
	assert.Less(t, first[0].insns-2*n, uint64(20), "a few instructions of call and return around the loop")
	assert.Equal(t, 1, first[0].threads)

	again, err := count(plugin, guest, "100000", "300000")
	require.NoError(t, err)
	assert.Equal(t, first, again, "the same counts every run")
}

func TestPluginArgs(t *testing.T) {
	t.Parallel()
	_, err := pluginArgs("/proc/self/exe")
	require.Error(t, err, "the test binary has no markers")
	_, err = pluginArgs(filepath.Join(t.TempDir(), "missing"))
	require.Error(t, err)
}
