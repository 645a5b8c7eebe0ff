package main

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/turingpi-oss/bmcd/hal/sim/simkube"
)

// bundle is a cluster's secrets in PEM form, as a k3s server keeps them
// under server/tls (its file names) and hands them to joining servers
// (k3s's bootstrap data).
type bundle struct {
	ServerCA     []byte `json:"server_ca"`
	ServerCAKey  []byte `json:"server_ca_key"`
	ClientCA     []byte `json:"client_ca"`
	ClientCAKey  []byte `json:"client_ca_key"`
	AdminCert    []byte `json:"client_admin"`
	AdminCertKey []byte `json:"client_admin_key"`
}

var bundleFiles = []struct {
	name string
	get  func(*bundle) *[]byte
	mode os.FileMode
}{
	{"server-ca.crt", func(b *bundle) *[]byte { return &b.ServerCA }, 0o644},
	{"server-ca.key", func(b *bundle) *[]byte { return &b.ServerCAKey }, 0o600},
	{"client-ca.crt", func(b *bundle) *[]byte { return &b.ClientCA }, 0o644},
	{"client-ca.key", func(b *bundle) *[]byte { return &b.ClientCAKey }, 0o600},
	{"client-admin.crt", func(b *bundle) *[]byte { return &b.AdminCert }, 0o644},
	{"client-admin.key", func(b *bundle) *[]byte { return &b.AdminCertKey }, 0o600},
}

func caPEM(ca *simkube.CA) ([]byte, []byte, error) {
	k, ok := ca.Key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("CA %s: key is %T, want ECDSA", ca.Cert.Subject.CommonName, ca.Key)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return ca.PEM(), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func toBundle(c *simkube.Credentials) (*bundle, error) {
	var b bundle
	var err error
	if b.ServerCA, b.ServerCAKey, err = caPEM(c.ServerCA); err != nil {
		return nil, err
	}
	if b.ClientCA, b.ClientCAKey, err = caPEM(c.ClientCA); err != nil {
		return nil, err
	}
	b.AdminCert, b.AdminCertKey = c.AdminCertPEM, c.AdminKeyPEM
	return &b, nil
}

func parseCA(certPEM, keyPEM []byte) (*simkube.CA, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("CA: no PEM block")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	return &simkube.CA{Cert: cert, Key: key}, nil
}

func (b *bundle) credentials() (*simkube.Credentials, error) {
	s, err := parseCA(b.ServerCA, b.ServerCAKey)
	if err != nil {
		return nil, fmt.Errorf("server CA: %w", err)
	}
	c, err := parseCA(b.ClientCA, b.ClientCAKey)
	if err != nil {
		return nil, fmt.Errorf("client CA: %w", err)
	}
	return &simkube.Credentials{ServerCA: s, ClientCA: c, AdminCertPEM: b.AdminCert, AdminKeyPEM: b.AdminCertKey}, nil
}

func (b *bundle) save() error {
	if err := os.MkdirAll(tlsDir, 0o700); err != nil {
		return err
	}
	for _, f := range bundleFiles {
		if err := os.WriteFile(filepath.Join(tlsDir, f.name), *f.get(b), f.mode); err != nil {
			return err
		}
	}
	return nil
}

// loadOrCreateBundle keeps the cluster's secrets under server/tls, so a
// restarted server keeps its cluster; the first start makes them.
func loadOrCreateBundle() (*bundle, error) {
	var b bundle
	for _, f := range bundleFiles {
		data, err := os.ReadFile(filepath.Join(tlsDir, f.name))
		if errors.Is(err, os.ErrNotExist) {
			c, err := simkube.NewCredentials(time.Now())
			if err != nil {
				return nil, err
			}
			nb, err := toBundle(c)
			if err != nil {
				return nil, err
			}
			return nb, nb.save()
		}
		if err != nil {
			return nil, err
		}
		*f.get(&b) = data
	}
	return &b, nil
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
