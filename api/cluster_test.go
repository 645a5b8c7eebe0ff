package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

func TestClusterKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var k apitype.ClusterKey
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/api/v1/cluster/key", "", &k))
	assert.Equal(t, f.board.ClusterKey(), k.PublicKey)
	assert.Contains(t, k.PublicKey, "ssh-ed25519 ")
}
