package tlscert_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/tlscert"
)

var testHosts = []string{"turingpi", "turingpi.local", "localhost", "192.168.1.20", "127.0.0.1", "::1"}

func TestGenerateOnceThenKeep(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	c, err := tlscert.Load(tlscert.Config{StateDir: dir, Hosts: testHosts, Clock: clock})
	require.NoError(t, err)
	assert.True(t, c.Generated)
	assert.Equal(t, apitype.CertFingerprint(c.TLS.Certificate[0]), c.Fingerprint)

	leaf := c.Leaf
	assert.Equal(t, []string{"turingpi", "turingpi.local", "localhost"}, leaf.DNSNames)
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	assert.Equal(t, []string{"192.168.1.20", "127.0.0.1", "::1"}, ips)
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	require.True(t, ok, "want an ECDSA key, got %T", leaf.PublicKey)
	assert.Equal(t, elliptic.P256(), pub.Curve)
	assert.True(t, leaf.NotBefore.Before(clock.Now()))
	assert.True(t, leaf.NotAfter.After(clock.Now().Add(5*365*24*time.Hour)))
	assert.Contains(t, leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	require.NoError(t, leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature), "self-signed")

	fi, err := os.Stat(filepath.Join(dir, tlscert.KeyFileName))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the key is private")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no temporary files left: %v", entries)

	// The next start keeps it, though the addresses changed: clients
	// pinned this one.
	again, err := tlscert.Load(tlscert.Config{StateDir: dir, Hosts: []string{"other"}, Clock: clock})
	require.NoError(t, err)
	assert.False(t, again.Generated)
	assert.Equal(t, c.Fingerprint, again.Fingerprint)
}

// TestServesAndVerifies: a client that trusts the generated certificate
// connects by a name and an address in it.
func TestServesAndVerifies(t *testing.T) {
	t.Parallel()
	c, err := tlscert.Load(tlscert.Config{StateDir: t.TempDir(), Hosts: testHosts})
	require.NoError(t, err)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{c.TLS}})
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	roots := x509.NewCertPool()
	roots.AddCert(c.Leaf)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, name := range []string{"turingpi.local", "127.0.0.1"} {
		conn, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: roots, ServerName: name})
		require.NoError(t, err, name)
		conn.Close()
	}
	_, err = tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: roots, ServerName: "elsewhere.example"})
	assert.Error(t, err, "a name the certificate does not have")
}

func TestDamagedPairReplaced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := tlscert.Load(tlscert.Config{StateDir: dir, Hosts: testHosts})
	require.NoError(t, err)
	// A crash after the key was written, before the certificate: the
	// key on disk no longer matches.
	other, err := tlscert.Load(tlscert.Config{StateDir: t.TempDir(), Hosts: testHosts})
	require.NoError(t, err)
	key, err := os.ReadFile(other.KeyFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(first.KeyFile, key, 0o600))

	c, err := tlscert.Load(tlscert.Config{StateDir: dir, Hosts: testHosts})
	require.NoError(t, err)
	assert.True(t, c.Generated)
	assert.NotEqual(t, first.Fingerprint, c.Fingerprint)
}

func TestConfiguredCertificate(t *testing.T) {
	t.Parallel()
	own, err := tlscert.Load(tlscert.Config{StateDir: t.TempDir(), Hosts: []string{"own.example"}})
	require.NoError(t, err)
	dir := t.TempDir()
	c, err := tlscert.Load(tlscert.Config{CertFile: own.CertFile, KeyFile: own.KeyFile, StateDir: dir, Hosts: testHosts})
	require.NoError(t, err)
	assert.False(t, c.Generated)
	assert.Equal(t, own.Fingerprint, c.Fingerprint)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing generated beside a configured certificate")

	tests := []struct {
		name      string
		cert, key string
		want      string
	}{
		{name: "key missing", cert: own.CertFile, want: "give both or neither"},
		{name: "no such file", cert: filepath.Join(dir, "none.pem"), key: own.KeyFile, want: "none.pem"},
		{name: "swapped", cert: own.KeyFile, key: own.CertFile, want: "configured certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tlscert.Load(tlscert.Config{CertFile: tc.cert, KeyFile: tc.key, StateDir: dir})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestLocalHosts(t *testing.T) {
	t.Parallel()
	hosts := tlscert.LocalHosts()
	assert.Contains(t, hosts, "localhost")
	assert.Contains(t, hosts, "127.0.0.1")
	if name, err := os.Hostname(); err == nil && name != "localhost" {
		assert.Contains(t, hosts, name)
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
			assert.Contains(t, []string{"127.0.0.1", "::1"}, h)
		}
	}
}
