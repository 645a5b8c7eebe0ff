package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tempConfig points the user config directory at a fresh temporary one
// and returns the token cache's path.
func tempConfig(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	path, err := tokenPath()
	require.NoError(t, err)
	require.True(t, filepath.IsAbs(path))
	require.Contains(t, path, home, "the cache must be under the test's directory")
	return path
}

func TestTokenCache(t *testing.T) {
	path := tempConfig(t)
	hour := time.Now().Add(time.Hour)

	tok, err := loadToken("http://a")
	require.NoError(t, err)
	assert.Empty(t, tok, "no cache yet")
	require.NoError(t, deleteToken("http://a"), "deleting from no cache is fine")
	_, err = os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "deleting creates nothing")

	require.NoError(t, saveToken("http://a", cachedToken{Token: "ta", ExpiresAt: hour}))
	require.NoError(t, saveToken("http://b:8080", cachedToken{Token: "tb", ExpiresAt: hour}))

	t.Run("permissions", func(t *testing.T) {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		di, err := os.Stat(filepath.Dir(path))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	})

	t.Run("keyed by host", func(t *testing.T) {
		for host, want := range map[string]string{"http://a": "ta", "http://b:8080": "tb", "http://b": "", "https://a": ""} {
			tok, err := loadToken(host)
			require.NoError(t, err)
			assert.Equal(t, want, tok, host)
		}
	})

	t.Run("replaced, not added", func(t *testing.T) {
		require.NoError(t, saveToken("http://a", cachedToken{Token: "ta2", ExpiresAt: hour}))
		tok, err := loadToken("http://a")
		require.NoError(t, err)
		assert.Equal(t, "ta2", tok)
	})

	t.Run("atomic: no temporary files left", func(t *testing.T) {
		entries, err := os.ReadDir(filepath.Dir(path))
		require.NoError(t, err)
		require.Len(t, entries, 1)
		assert.Equal(t, "tokens.json", entries[0].Name())
	})

	t.Run("a loose mode is tightened", func(t *testing.T) {
		require.NoError(t, os.Chmod(path, 0o644))
		require.NoError(t, os.Chmod(filepath.Dir(path), 0o755))
		require.NoError(t, saveToken("http://c", cachedToken{Token: "tc", ExpiresAt: hour}))
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		di, err := os.Stat(filepath.Dir(path))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	})

	t.Run("delete keeps the others", func(t *testing.T) {
		require.NoError(t, deleteToken("http://a"))
		tok, err := loadToken("http://a")
		require.NoError(t, err)
		assert.Empty(t, tok)
		tok, err = loadToken("http://b:8080")
		require.NoError(t, err)
		assert.Equal(t, "tb", tok)
	})
}

// plantToken writes a cache holding only host's token, as one left from
// an earlier run (saveToken would drop an expired token as it writes).
func plantToken(t *testing.T, host string, tok cachedToken) {
	t.Helper()
	path, err := tokenPath()
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	data, err := json.Marshal(map[string]cachedToken{host: tok})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

func TestTokenCacheExpiry(t *testing.T) {
	tempConfig(t)
	require.NoError(t, saveToken("http://old", cachedToken{Token: "x", ExpiresAt: time.Now().Add(time.Hour)}))
	tok, err := loadToken("http://old")
	require.NoError(t, err)
	assert.Equal(t, "x", tok)
	// The same entry once its time is up.
	plantToken(t, "http://old", cachedToken{Token: "x", ExpiresAt: time.Now().Add(-time.Second)})
	tok, err = loadToken("http://old")
	require.NoError(t, err)
	assert.Empty(t, tok, "an expired token is not used")

	require.NoError(t, saveToken("http://new", cachedToken{Token: "y", ExpiresAt: time.Now().Add(time.Hour)}))
	has, err := hasToken("http://old")
	require.NoError(t, err)
	assert.False(t, has, "expired tokens are dropped on the next write")
}

func TestTokenCacheDamaged(t *testing.T) {
	path := tempConfig(t)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte("{broken"), 0o600))
	tok, err := loadToken("http://a")
	require.NoError(t, err, "a damaged cache means logging in again, not a failure")
	assert.Empty(t, tok)
	require.NoError(t, saveToken("http://a", cachedToken{Token: "ta", ExpiresAt: time.Now().Add(time.Hour)}))
	tok, err = loadToken("http://a")
	require.NoError(t, err)
	assert.Equal(t, "ta", tok, "and the next login repairs it")
}
