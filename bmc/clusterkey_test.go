package bmc_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/hal"
)

// TestClusterKeyKeptInStateDir: bmcd's SSH client key is generated once,
// kept 0600 in the state directory, and the same after a restart.
func TestClusterKeyKeptInStateDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hw := newSim(t, dir, 4)
	b := newBoard(t, hw, dir)
	line := b.ClusterKey()
	assert.True(t, strings.HasPrefix(line, "ssh-ed25519 "), line)
	assert.True(t, strings.HasSuffix(line, " bmcd"), line)
	_, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	require.NoError(t, err)

	fi, err := os.Stat(filepath.Join(dir, "cluster_ed25519"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	require.NoError(t, b.Close())
	again := newBoard(t, hw, dir)
	assert.Equal(t, line, again.ClusterKey(), "the key survives a restart")
}

// TestClusterKeyCorrupt: a key file bmcd cannot parse stops bmcd with its
// path rather than being silently replaced (nodes trust the old key).
func TestClusterKeyCorrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cluster_ed25519"), []byte("garbage"), 0o600))
	_, err := newBoardErr(t, newSim(t, dir, 4), dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cluster_ed25519")
}

func newBoardErr(t *testing.T, hw hal.Board, dir string) (*bmc.Board, error) {
	t.Helper()
	b, err := bmc.New(bmc.Config{HW: hw, StateDir: dir})
	if err == nil {
		t.Cleanup(func() { assert.NoError(t, b.Close()) })
	}
	return b, err
}
