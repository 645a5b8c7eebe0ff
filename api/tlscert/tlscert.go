package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/hal/atomicfile"
)

// Names of the generated certificate and key in the state directory.
const (
	CertFileName = "tls-cert.pem"
	KeyFileName  = "tls-key.pem"
)

// validity is how long a generated certificate is valid. Clients pin it
// rather than trust a chain, so a short life would only make every
// client confirm a new one from time to time; browsers do not limit the
// life of a certificate the user accepted.
const validity = 10 * 365 * 24 * time.Hour

// backdate starts a generated certificate's validity before now: a
// board's clock may be behind a phone's.
const backdate = 48 * time.Hour

// Config says where the certificate comes from.
type Config struct {
	// CertFile and KeyFile are the operator's PEM certificate (chain) and
	// key; both or neither. Set, they are used as they are.
	CertFile, KeyFile string
	// StateDir keeps the generated certificate when CertFile is empty.
	StateDir string
	// Hosts are the names and addresses a new certificate is made for;
	// see LocalHosts.
	Hosts []string
	Clock clockwork.Clock
	// Logger gets a line when a certificate is generated.
	Logger *slog.Logger
}

// Cert is the certificate bmcd serves.
type Cert struct {
	TLS tls.Certificate
	// Leaf is the server's certificate, the first of the chain.
	Leaf *x509.Certificate
	// Fingerprint is the SHA-256 of Leaf, what clients pin.
	Fingerprint apitype.Fingerprint
	// Generated is true when the certificate was made by this call.
	Generated bool
	// CertFile and KeyFile are where it was read from or written to.
	CertFile, KeyFile string
}

// Load returns the configured certificate, or the generated one from the
// state directory, generating it first if there is none (or the files
// do not hold a matching certificate and key).
func Load(cfg Config) (*Cert, error) {
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, fmt.Errorf("tls certificate %q and key %q: give both or neither", cfg.CertFile, cfg.KeyFile)
	}
	if cfg.CertFile != "" {
		c, err := read(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: configured certificate: %w", err)
		}
		return c, nil
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	certFile := filepath.Join(cfg.StateDir, CertFileName)
	keyFile := filepath.Join(cfg.StateDir, KeyFileName)
	c, err := read(certFile, keyFile)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		// A half-written or damaged pair: bmcd cannot serve without one,
		// and the old one is gone either way.
		cfg.Logger.Warn("tls: replacing the unusable generated certificate", "err", err)
	}
	if err := generate(cfg, certFile, keyFile); err != nil {
		return nil, err
	}
	c, err = read(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: read back the generated certificate: %w", err)
	}
	c.Generated = true
	cfg.Logger.Info("tls: generated a self-signed certificate", "path", certFile,
		"fingerprint", c.Fingerprint.String(), "hosts", cfg.Hosts)
	return c, nil
}

// read loads a PEM certificate and its key.
func read(certFile, keyFile string) (*Cert, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", certFile, keyFile, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%s: %w", certFile, err)
		}
	}
	return &Cert{
		TLS:         pair,
		Leaf:        leaf,
		Fingerprint: apitype.CertFingerprint(leaf.Raw),
		CertFile:    certFile,
		KeyFile:     keyFile,
	}, nil
}

// generate writes a new self-signed certificate and key. The key is
// written first: a crash between the two leaves a pair that does not
// match, which the next start replaces.
func generate(cfg Config, certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tls: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return fmt.Errorf("tls: generate serial number: %w", err)
	}
	now := cfg.Clock.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName(cfg.Hosts), Organization: []string{"bmcd"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range cfg.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("tls: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("tls: encode key: %w", err)
	}
	if err := atomicfile.Write(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("tls: save key: %w", err)
	}
	if err := atomicfile.Write(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("tls: save certificate: %w", err)
	}
	return nil
}

// commonName is the first host name, for certificate viewers; clients
// match the SANs, not this.
func commonName(hosts []string) string {
	for _, h := range hosts {
		if h != "" && net.ParseIP(h) == nil {
			return h
		}
	}
	return "bmcd"
}
