package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeAirgapDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
	return dir
}

// TestClusterUpAirgapUploads: cluster up --airgap sends the directory's
// air-gap files to bmcd once (a second run sends only what changed),
// leaves other files out, and refuses a directory without them before
// asking bmcd anything.
func TestClusterUpAirgapUploads(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	dir := writeAirgapDir(t, map[string]string{
		"install.sh":                      "#!/bin/sh\n",
		"k3s-arm64":                       "\x7fELF arm64",
		"k3s-airgap-images-arm64.tar.zst": strings.Repeat("images", 1000),
		"README.md":                       "not sent",
	})
	names := func() []string {
		files, err := f.board.AirgapFiles()
		require.NoError(t, err)
		var out []string
		for _, f := range files {
			out = append(out, f.Name)
		}
		return out
	}

	// Slot 1 holds no prepared node: bmcd refuses the cluster after the
	// upload, which stays.
	r := bmcctl(t, "", "cluster", "up", "--servers", "1", "--airgap", dir)
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, "slot 1: no node prepared by bmcd")
	assert.Equal(t, 3, strings.Count(r.stderr, ": uploaded"), r.stderr)
	assert.Equal(t, []string{"install.sh", "k3s-airgap-images-arm64.tar.zst", "k3s-arm64"}, names())

	require.NoError(t, os.WriteFile(filepath.Join(dir, "k3s-arm64"), []byte("\x7fELF arm64, newer"), 0o644))
	r = bmcctl(t, "", "cluster", "up", "--servers", "1", "--airgap", dir)
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, "air-gap k3s-arm64: uploaded")
	assert.Contains(t, r.stderr, "air-gap install.sh: already on bmcd")
	assert.Contains(t, r.stderr, "air-gap k3s-airgap-images-arm64.tar.zst: already on bmcd")
	files, err := f.board.AirgapFiles()
	require.NoError(t, err)
	assert.Equal(t, int64(len("\x7fELF arm64, newer")), files[2].Size)

	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"no air-gap files", []string{"--airgap", writeAirgapDir(t, map[string]string{"k3s.txt": "x"})}, "want install.sh"},
		{"missing directory", []string{"--airgap", filepath.Join(dir, "nope")}, "no such file"},
		{"with a version", []string{"--airgap", dir, "--k3s-version", "v1.33.1+k3s1"}, "drop --k3s-version"},
	} {
		r := bmcctl(t, "", append([]string{"cluster", "up", "--servers", "1"}, tc.args...)...)
		assert.Equal(t, 2, r.code, "%s: a usage error: %s", tc.name, r.stderr)
		assert.Contains(t, r.stderr, tc.msg, tc.name)
	}
	assert.Empty(t, f.board.Jobs().List(), "nothing queued")
}
