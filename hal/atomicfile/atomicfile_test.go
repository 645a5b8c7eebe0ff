package atomicfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal/atomicfile"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name string
		old  []byte // nil: no file before
		data []byte
		perm os.FileMode
	}{
		{name: "new file", data: []byte("hello"), perm: 0o600},
		{name: "replace", old: []byte("a much longer old content"), data: []byte("new"), perm: 0o644},
		{name: "empty", old: []byte("x"), data: nil, perm: 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			if tt.old != nil {
				require.NoError(t, os.WriteFile(path, tt.old, 0o600))
			}
			require.NoError(t, atomicfile.Write(path, tt.data, tt.perm))
			check(t, dir, path, tt.data, tt.perm)
			require.NoError(t, atomicfile.WriteNoSync(path, append(tt.data, '!'), tt.perm))
			check(t, dir, path, append(tt.data, '!'), tt.perm)
		})
	}
}

func check(t *testing.T, dir, path string, data []byte, perm os.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(data), string(got))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, perm, fi.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file may be left behind")
}

func TestWriteFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o600))
	// A directory in the way of the rename makes the last step fail.
	blocked := filepath.Join(dir, "blocked")
	require.NoError(t, os.MkdirAll(filepath.Join(blocked, "child"), 0o700))

	err := atomicfile.Write(blocked, []byte("new"), 0o600)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rename")

	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old", string(got))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "temporary file must be removed after a failure")
}

func TestWriteMissingDir(t *testing.T) {
	err := atomicfile.Write(filepath.Join(t.TempDir(), "no", "such", "f"), []byte("x"), 0o600)
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrNotExist)
}
