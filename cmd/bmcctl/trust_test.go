package main

import (
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// tlsBMCD serves f's API over TLS with httptest's certificate and returns
// the server and the certificate's fingerprint.
func tlsBMCD(t *testing.T, f *testBMCD) (*httptest.Server, apitype.Fingerprint) {
	t.Helper()
	srv := httptest.NewTLSServer(f.srv.Config.Handler)
	t.Cleanup(srv.Close)
	return srv, apitype.CertFingerprint(srv.Certificate().Raw)
}

// pemCert is srv's certificate in PEM.
func pemCert(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

func TestLoginPinsWithYes(t *testing.T) {
	f := newBMCD(t)
	srv, fp := tlsBMCD(t, f)
	isolate(t, srv.URL)

	r := bmcctl(t, testPassword+"\n", "login", "--password-stdin", "--yes")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "The certificate of "+srv.URL+" is not pinned yet. Its SHA-256 fingerprint is\n  "+fp.String()+"\nPinning it (--yes).\n", r.stderr)
	entry, ok, err := lookupPin(srv.URL)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, fp.String(), entry.Fingerprint)
	assert.False(t, entry.Created.IsZero())

	r = bmcctl(t, "", "power", "on", "2")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "slot 2: on\n", r.stdout)
}

func TestLoginWithCA(t *testing.T) {
	f := newBMCD(t)
	srv, _ := tlsBMCD(t, f)
	isolate(t, srv.URL)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	// httptest's certificate is its own CA and names 127.0.0.1.
	require.NoError(t, os.WriteFile(ca, pemCert(srv), 0o600))
	notPEM := filepath.Join(dir, "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o600))

	r := bmcctl(t, testPassword+"\n", "login", "--password-stdin", "--ca", notPEM)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "no PEM certificate")

	r = bmcctl(t, testPassword+"\n", "login", "--password-stdin", "--ca", ca)
	require.Equal(t, 0, r.code, r.stderr)
	entry, ok, err := lookupPin(srv.URL)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Empty(t, entry.Fingerprint)
	assert.Equal(t, string(pemCert(srv)), entry.CA)
	r = bmcctl(t, "", "power", "status", "1")
	require.Equal(t, 0, r.code, r.stderr)
}

func TestLoginTrustFlags(t *testing.T) {
	f := newBMCD(t)
	srv, fp := tlsBMCD(t, f)
	isolate(t, srv.URL)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{name: "fingerprint over plain HTTP", args: []string{"--host", f.srv.URL, "login", "--fingerprint", fp.String()}, code: 2, want: "need an https:// --host"},
		{name: "bad fingerprint", args: []string{"login", "--fingerprint", "SHA256:12"}, code: 2, want: "invalid certificate fingerprint"},
		{name: "two ways", args: []string{"login", "--yes", "--fingerprint", fp.String()}, code: 1, want: "none of the others can be"},
		{name: "missing CA file", args: []string{"login", "--ca", "/nonexistent/ca.pem"}, code: 1, want: "--ca: open /nonexistent/ca.pem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := bmcctl(t, testPassword+"\n", append(tc.args, "--password-stdin")...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			assert.Contains(t, r.stderr, tc.want)
			_, ok, err := lookupPin(srv.URL)
			require.NoError(t, err)
			assert.False(t, ok, "nothing pinned")
		})
	}
}

func TestDamagedPinsRefused(t *testing.T) {
	f := newBMCD(t)
	srv, _ := tlsBMCD(t, f)
	isolate(t, srv.URL)
	path, err := pinPath()
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o600))

	for _, args := range [][]string{{"power", "status"}, {"login", "--password-stdin", "--yes"}} {
		r := bmcctl(t, testPassword+"\n", args...)
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "are damaged")
		assert.Contains(t, r.stderr, "delete the file")
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "{not json", string(data), "the file is left for the user to look at")
}

func TestPinnedLoginRefusesOtherCertificate(t *testing.T) {
	f := newBMCD(t)
	srv, fp := tlsBMCD(t, f)
	isolate(t, srv.URL)
	other := apitype.CertFingerprint([]byte("the certificate of the board before"))
	require.NoError(t, savePin(srv.URL, pinEntry{Fingerprint: other.String()}))

	r := bmcctl(t, testPassword+"\n", "login", "--password-stdin", "--yes")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "bmcctl: the certificate of "+srv.URL+" has CHANGED: bmcctl pinned "+other.String()+", bmcd now presents "+fp.String()+
		"; someone may be intercepting the connection. If bmcd's certificate was replaced on purpose (a new state dir, http.tls_cert), "+
		"compare the new fingerprint with the one bmcd printed at start, then run 'bmcctl --host "+srv.URL+" login --fingerprint "+fp.String()+"'\n",
		r.stderr)
	tok, err := loadToken(srv.URL)
	require.NoError(t, err)
	assert.Empty(t, tok, "no password went to the other certificate")
	for _, req := range f.seen() {
		assert.False(t, strings.HasSuffix(req, "/auth/login"), "bmcd got %s", req)
	}
}
