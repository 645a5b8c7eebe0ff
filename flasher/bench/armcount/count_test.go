package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
// iterations differ by exactly 4n, every time. The guest is a Go program:
// now and then a runtime thread (sysmon) runs a few hundred instructions
// inside a region, and the plugin says so (threads > 1); the exact checks
// are made on runs where only the loop's thread ran.
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
	first := oneThreadCount(t, plugin, guest, "100000", "300000")
	require.Len(t, first, 2)
	assert.Equal(t, uint64(4*n), first[1].insns-first[0].insns, "two instructions per iteration")
	assert.Less(t, first[0].insns-2*n, uint64(20), "a few instructions of call and return around the loop")

	again := oneThreadCount(t, plugin, guest, "100000", "300000")
	assert.Equal(t, first, again, "the same counts every run")
}

// oneThreadCount runs count until a run in which every region was run
// by one thread only, and returns its regions; it fails after 10 runs.
func oneThreadCount(t *testing.T, plugin, guest string, args ...string) []region {
	t.Helper()
	var last []region
	for range 10 {
		regions, err := count(plugin, guest, args...)
		require.NoError(t, err)
		if !slices.ContainsFunc(regions, func(r region) bool { return r.threads != 1 }) {
			return regions
		}
		last = regions
	}
	t.Fatalf("no run of 10 had one thread per region; the last: %+v", last)
	return nil
}

func TestPluginArgs(t *testing.T) {
	t.Parallel()
	_, err := pluginArgs("/proc/self/exe")
	require.Error(t, err, "the test binary has no markers")
	_, err = pluginArgs(filepath.Join(t.TempDir(), "missing"))
	require.Error(t, err)
}
