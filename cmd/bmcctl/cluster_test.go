package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClusterKeyCommand(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	r := bmcctl(t, "", "cluster", "key")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, f.board.ClusterKey()+"\n", r.stdout)
	assert.Empty(t, r.stderr)
}
