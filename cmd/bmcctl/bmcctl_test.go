package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "turingpi.local", want: "http://turingpi.local"},
		{in: "127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{in: "http://127.0.0.1:8080/", want: "http://127.0.0.1:8080"},
		{in: "https://bmc.example:8443", want: "https://bmc.example:8443"},
		{in: "[::1]:8080", want: "http://[::1]:8080"},
		{in: "", wantErr: "empty --host"},
		{in: "ftp://x", wantErr: "scheme must be http or https"},
		{in: "http://x/api", wantErr: "no path expected"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := normalizeHost(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.Equal(t, 2, exitCode(err), "a bad --host is a usage error")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSlotArg(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		slot    int
		all     bool
		wantErr bool
	}{
		{name: "number", args: []string{"3"}, slot: 3},
		{name: "all", args: []string{"all"}, all: true},
		{name: "none means all", args: nil, all: true},
		{name: "out of range is the server's call", args: []string{"9"}, slot: 9},
		{name: "negative is the server's call", args: []string{"-1"}, slot: -1},
		{name: "word", args: []string{"abc"}, wantErr: true},
		{name: "float", args: []string{"1.5"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slot, all, err := slotArg(tt.args)
			if tt.wantErr {
				require.Error(t, err)
				assert.Equal(t, 2, exitCode(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.slot, slot)
			assert.Equal(t, tt.all, all)
		})
	}
}

func TestTokenCache(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))

	tok, err := loadToken("http://a")
	require.NoError(t, err)
	assert.Empty(t, tok)

	require.NoError(t, saveToken("http://a", cachedToken{Token: "ta", ExpiresAt: time.Now().Add(time.Hour)}))
	require.NoError(t, saveToken("http://b", cachedToken{Token: "tb", ExpiresAt: time.Now().Add(-time.Second)}))
	path, err := tokenPath()
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	tok, err = loadToken("http://a")
	require.NoError(t, err)
	assert.Equal(t, "ta", tok, "tokens are kept per host")
	tok, err = loadToken("http://b")
	require.NoError(t, err)
	assert.Empty(t, tok, "an expired token is not used")

	require.NoError(t, deleteToken("http://a"))
	tok, err = loadToken("http://a")
	require.NoError(t, err)
	assert.Empty(t, tok)

	require.NoError(t, os.WriteFile(path, []byte("{broken"), 0o600))
	tok, err = loadToken("http://a")
	require.NoError(t, err, "a damaged cache means logging in again, not a failure")
	assert.Empty(t, tok)
}
