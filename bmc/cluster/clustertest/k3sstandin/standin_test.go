package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTokenSecret(t *testing.T) {
	t.Parallel()
	hash := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct{ name, token, want string }{
		{"short token", "s3cret", "s3cret"},
		{"server token", "K10" + hash + "::server:s3cret", "s3cret"},
		{"bootstrap token", "K10" + hash + "::abcdef.0123456789abcdef", "abcdef.0123456789abcdef"},
		{"K10 without credentials", "K10" + hash, "K10" + hash},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tokenSecret(tc.token))
		})
	}
}

// FuzzEnvFile: what the install writes into a unit's env file (KEY="%q"
// lines), the service manager reads back unchanged.
func FuzzEnvFile(f *testing.F) {
	for _, s := range []string{"", "abc", `a"b`, "with space", "K10::server:x", "tab\tand\nnewline", "\x00", "ünï"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		p := filepath.Join(t.TempDir(), "k3s.service.env")
		require.NoError(t, os.WriteFile(p, []byte(fmt.Sprintf("K3S_TOKEN=%q\nK3S_URL=%q\n", v, "https://x:6443")), 0o600))
		env, err := readEnvFile(p)
		require.NoError(t, err)
		assert.Equal(t, []string{"K3S_TOKEN=" + v, "K3S_URL=https://x:6443"}, env)
	})
}

func TestReadEnvFileOptional(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "none.env")
	env, err := readEnvFile("-" + missing)
	require.NoError(t, err, "a leading - allows the file missing, as systemd's EnvironmentFile=-")
	assert.Empty(t, env)
	_, err = readEnvFile(missing)
	assert.Error(t, err)
}
