package main_test

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	fingerprintRE = regexp.MustCompile(`bmcd: TLS certificate (SHA256:[0-9A-F:]{95}) `)
	redirectRE    = regexp.MustCompile(`bmcd: redirecting (http://\S+) to https`)
)

// TestEndToEndTLSPinning runs bmcd with TLS on, as on a real board:
// bmcctl refuses to log in until the certificate's fingerprint is
// confirmed, pins it, logs in again on the pin, and refuses the new
// certificate bmcd generates after its files are deleted, saying what to
// do. bmcd's plain-HTTP port redirects to HTTPS.
func TestEndToEndTLSPinning(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	d := startBMCD(t, state, "--tls", "--redirect-listen", "127.0.0.1:0")
	require.True(t, strings.HasPrefix(d.url, "https://"), d.url)
	require.Regexp(t, fingerprintRE, d.stderr.String())
	fingerprint := fingerprintRE.FindStringSubmatch(d.stderr.String())[1]
	require.NotEmpty(t, d.password)
	home := t.TempDir()
	pins := filepath.Join(home, ".config", "bmcctl", "pins.json")

	t.Run("first login without a terminal shows the fingerprint and pins nothing", func(t *testing.T) {
		r := bmcctl(t, d, home, d.password+"\n", "login", "--password-stdin")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, fingerprint)
		assert.Contains(t, r.stderr, "login --fingerprint "+fingerprint)
		assert.NoFileExists(t, pins)

		r = bmcctl(t, d, home, "", "power", "status")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "has not pinned the certificate of "+d.url)
	})

	t.Run("a wrong fingerprint is refused", func(t *testing.T) {
		wrong := "SHA256:" + strings.Repeat("00:", 31) + "00"
		r := bmcctl(t, d, home, d.password+"\n", "login", "--password-stdin", "--fingerprint", wrong)
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "has fingerprint "+fingerprint+", not "+wrong)
		assert.NoFileExists(t, pins)
	})

	t.Run("login with the fingerprint pins it", func(t *testing.T) {
		r := bmcctl(t, d, home, d.password+"\n", "login", "--password-stdin", "--fingerprint", fingerprint)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "Logged in to "+d.url)
		data, err := os.ReadFile(pins)
		require.NoError(t, err)
		assert.Contains(t, string(data), fingerprint)
		fi, err := os.Stat(pins)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

		r = bmcctl(t, d, home, "", "power", "on", "3")
		require.Equal(t, 0, r.code, r.stderr)
	})

	t.Run("a second login uses the pin", func(t *testing.T) {
		r := bmcctl(t, d, home, d.password+"\n", "login", "--password-stdin")
		require.Equal(t, 0, r.code, r.stderr)
		assert.NotContains(t, r.stderr, "not pinned")
	})

	redirect := redirectRE.FindStringSubmatch(d.stderr.String())
	require.NotNil(t, redirect, d.stderr.String())
	t.Run("plain HTTP redirects to HTTPS", func(t *testing.T) {
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(redirect[1] + "/api/v1/slots?x=1")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusPermanentRedirect, resp.StatusCode)
		assert.Equal(t, d.url+"/api/v1/slots?x=1", resp.Header.Get("Location"))

		r := bmcctl(t, d, home, "", "--host", redirect[1], "power", "status")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "use --host "+d.url)
	})

	t.Run("a new certificate is refused, with what to do", func(t *testing.T) {
		d.stop(t)
		require.NoError(t, os.Remove(filepath.Join(state, "tls-cert.pem")))
		require.NoError(t, os.Remove(filepath.Join(state, "tls-key.pem")))
		d2 := startBMCD(t, state, "--tls", "--listen", strings.TrimPrefix(d.url, "https://"))
		require.Equal(t, d.url, d2.url)
		require.Regexp(t, fingerprintRE, d2.stderr.String())
		renewed := fingerprintRE.FindStringSubmatch(d2.stderr.String())[1]
		require.NotEqual(t, fingerprint, renewed)

		for _, args := range [][]string{{"power", "status"}, {"login", "--password-stdin", "--yes"}} {
			r := bmcctl(t, d2, home, d.password+"\n", args...)
			assert.Equal(t, 1, r.code, "%v", args)
			assert.Contains(t, r.stderr, "has CHANGED: bmcctl pinned "+fingerprint+", bmcd now presents "+renewed, "%v", args)
			assert.Contains(t, r.stderr, "login --fingerprint "+renewed)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
		}

		r := bmcctl(t, d2, home, d.password+"\n", "login", "--password-stdin", "--fingerprint", renewed)
		require.Equal(t, 0, r.code, r.stderr)
		r = bmcctl(t, d2, home, "", "power", "status", "3")
		require.Equal(t, 0, r.code, r.stderr)
	})
}
