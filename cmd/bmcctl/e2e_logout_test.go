package main_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEndToEndLogout: after bmcctl logout, the token is refused by bmcd
// itself, not only forgotten by bmcctl.
func TestEndToEndLogout(t *testing.T) {
	t.Parallel()
	d := startBMCD(t, t.TempDir())
	home := t.TempDir()
	r := bmcctl(t, d, home, d.password+"\n", "login", "--password-stdin")
	require.Equal(t, 0, r.code, r.stderr)

	data, err := os.ReadFile(filepath.Join(home, ".config", "bmcctl", "tokens.json"))
	require.NoError(t, err)
	var tokens map[string]struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.Unmarshal(data, &tokens))
	token := tokens[d.url].Token
	require.NotEmpty(t, token, "token cached for %s: %s", d.url, data)
	get := func() int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, d.url+"/api/v1/slots", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, get(), "the token works before logout")

	r = bmcctl(t, d, home, "", "logout")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Logged out of "+d.url+"; bmcd revoked the token\n", r.stdout)
	assert.Equal(t, http.StatusUnauthorized, get(), "the token is revoked on bmcd")

	r = bmcctl(t, d, home, "", "power", "status")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "not logged in")
}
