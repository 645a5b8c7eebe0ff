package simkube

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"slices"
	"time"
)

// CA is a certificate authority: its certificate and signing key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// PEM is the CA's certificate in PEM form.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Credentials are what a k3s server makes at its first start, under
// /var/lib/rancher/k3s/server/tls: the server CA that signs the API's
// serving certificate (its PEM is what /cacerts serves and the join
// token's hash covers), the client CA that signs client certificates,
// and the admin's client certificate that k3s.yaml carries.
type Credentials struct {
	ServerCA *CA
	ClientCA *CA
	// AdminCertPEM is the admin's certificate (CN system:admin, group
	// system:masters) followed by the client CA's, as k3s's
	// client-admin.crt holds them; AdminKeyPEM is its EC private key.
	AdminCertPEM []byte
	AdminKeyPEM  []byte
}

// NewCredentials makes a new cluster's CAs and admin certificate, named
// as k3s names them (k3s-server-ca@<unix time>, k3s-client-ca@…). now
// dates them.
func NewCredentials(now time.Time) (*Credentials, error) {
	server, err := NewCA(fmt.Sprintf("k3s-server-ca@%d", now.Unix()), now)
	if err != nil {
		return nil, err
	}
	client, err := NewCA(fmt.Sprintf("k3s-client-ca@%d", now.Unix()), now)
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := client.IssueClient("system:admin", []string{"system:masters"}, now)
	if err != nil {
		return nil, err
	}
	return &Credentials{ServerCA: server, ClientCA: client, AdminCertPEM: append(certPEM, client.PEM()...), AdminKeyPEM: keyPEM}, nil
}

// NewCA makes a self-signed ECDSA P-256 CA named cn, valid ten years
// from now (and an hour before, for clocks a little behind).
func NewCA(cn string, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("simkube: CA %s: %w", cn, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(0),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("simkube: CA %s: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("simkube: CA %s: %w", cn, err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// issue signs a new key's certificate from tmpl and returns both in PEM.
func (ca *CA) issue(tmpl *x509.Certificate, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.AddDate(1, 0, 0)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// IssueClient signs a client certificate for user cn in groups (the
// subject's organisations, as Kubernetes reads them), valid a year.
func (ca *CA) IssueClient(cn string, groups []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	certPEM, keyPEM, err = ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, now)
	if err != nil {
		return nil, nil, fmt.Errorf("simkube: client certificate %s: %w", cn, err)
	}
	return certPEM, keyPEM, nil
}

// defaultSANs are the names and addresses k3s puts in every API serving
// certificate, beside the node's own.
var defaultSANs = []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc",
	"kubernetes.default.svc.cluster.local", "localhost", "127.0.0.1", "::1", "10.43.0.1"}

// ServingCert signs the serving certificate of port 6443 (CN and O k3s,
// as k3s's listener presents it) for k3s's default names and hosts: IP
// addresses become IP SANs, the rest DNS SANs.
func (c *Credentials) ServingCert(hosts []string, now time.Time) (tls.Certificate, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "k3s", Organization: []string{"k3s"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range slices.Concat(defaultSANs, hosts) {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if h != "" && !slices.Contains(tmpl.DNSNames, h) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	certPEM, keyPEM, err := c.ServerCA.issue(tmpl, now)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("simkube: serving certificate: %w", err)
	}
	// The chain ends with the server CA, as k3s serves it.
	return tls.X509KeyPair(append(certPEM, c.ServerCA.PEM()...), keyPEM)
}

// Token is a k3s server's node-token for the cluster secret password:
// K10<sha256 of the server CA bundle, hex>::server:<password>. A joining
// node checks the CA /cacerts serves against the hash.
func (c *Credentials) Token(password string) string {
	return "K10" + CAHash(c.ServerCA.PEM()) + "::server:" + password
}

// CAHash is the hash a K10 token carries of the CA bundle caPEM.
func CAHash(caPEM []byte) string {
	sum := sha256.Sum256(caPEM)
	return hex.EncodeToString(sum[:])
}

// Kubeconfig is k3s.yaml as a k3s server writes it: one cluster, context
// and user, all named "default", server at server (k3s writes
// https://127.0.0.1:6443, or its --https-listen-port), with the server
// CA and the admin's certificate and key inline.
func (c *Credentials) Kubeconfig(server string) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: %s
    server: %s
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: %s
    client-key-data: %s
`, b64(c.ServerCA.PEM()), server, b64(c.AdminCertPEM), b64(c.AdminKeyPEM))
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
