package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMakeRunStateIsPrivate: make run's state dir is 0700, as bmcd
// makes its own, also when an older make run left it 0755.
func TestMakeRunStateIsPrivate(t *testing.T) {
	t.Parallel()
	mk, err := exec.LookPath("make")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("make is missing")
		}
		t.Skip("make is not installed")
	}
	run := filepath.Join(t.TempDir(), "run")
	state := filepath.Join(run, "state")
	for _, before := range []string{"missing", "0755"} {
		if before == "0755" {
			require.NoError(t, os.Chmod(state, 0o755))
		}
		out, err := exec.Command(mk, "-s", "-C", filepath.Join("..", ".."), "RUN_DIR="+run, "run-state").CombinedOutput()
		require.NoError(t, err, "%s", out)
		fi, err := os.Stat(state)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), "state dir %s before", before)
	}
}
