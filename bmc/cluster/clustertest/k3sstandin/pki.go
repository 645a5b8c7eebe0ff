package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ca is the cluster's certificate authority: it signs the servers'
// certificates and the admin's client certificate, as k3s's server CA
// and client CA do (one CA here).
type ca struct {
	certPEM, keyPEM []byte
	cert            *x509.Certificate
	key             *ecdsa.PrivateKey
}

// hash is the CA hash of the join token: sha256 of the CA PEM, in hex.
func (c *ca) hash() string {
	sum := sha256.Sum256(c.certPEM)
	return hex.EncodeToString(sum[:])
}

func newCA() (*ca, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("k3s-server-ca@%d", time.Now().Unix())},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return parseCA(pemBlock("CERTIFICATE", der), keyPEM(key))
}

func parseCA(certPEM, keyPEMBytes []byte) (*ca, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEMBytes)
	if cb == nil || kb == nil {
		return nil, errors.New("CA: no PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	return &ca{certPEM: certPEM, keyPEM: keyPEMBytes, cert: cert, key: key}, nil
}

// loadOrCreateCA keeps the CA under tlsDir, so a restarted server keeps
// its cluster.
func loadOrCreateCA() (*ca, error) {
	cp, kp := filepath.Join(tlsDir, "server-ca.crt"), filepath.Join(tlsDir, "server-ca.key")
	c, err := os.ReadFile(cp)
	if err == nil {
		k, err := os.ReadFile(kp)
		if err != nil {
			return nil, err
		}
		return parseCA(c, k)
	}
	a, err := newCA()
	if err != nil {
		return nil, err
	}
	return a, a.save()
}

func (c *ca) save() error {
	if err := os.MkdirAll(tlsDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tlsDir, "server-ca.crt"), c.certPEM, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(tlsDir, "server-ca.key"), c.keyPEM, 0o600)
}

// serverCert is the API's certificate for 127.0.0.1, localhost, the
// hostname and every address of the node.
func (c *ca) serverCert(hostname string) (tls.Certificate, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "k3s", Organization: []string{"k3s"}},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", hostname},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ipn.IP)
		}
	}
	certPEM, kPEM, err := c.sign(tmpl)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, kPEM)
}

// clientCert is the admin's client certificate (system:masters), as in
// k3s.yaml.
func (c *ca) clientCert() (certPEM, keyPEM []byte, err error) {
	return c.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "system:admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

func (c *ca) sign(tmpl *x509.Certificate) ([]byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().AddDate(1, 0, 0)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), keyPEM(key), nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func keyPEM(k *ecdsa.PrivateKey) []byte {
	der, _ := x509.MarshalECPrivateKey(k)
	return pemBlock("EC PRIVATE KEY", der)
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
