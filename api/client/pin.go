package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// A bmcd on a LAN usually serves a self-signed certificate that no CA
// vouches for. Clients pin it instead, as SSH pins host keys: the
// fingerprint is learnt once (checked against the one bmcd prints at
// start) and from then on only that certificate is accepted. A bmcd with
// a certificate from a CA can be trusted through the CA instead, which
// survives the certificate's renewal.

// Pin is what a client trusts of one bmcd's certificate: a fingerprint,
// or else the CAs in Roots (then the certificate must name the host).
type Pin struct {
	Fingerprint apitype.Fingerprint
	Roots       *x509.CertPool
}

// ErrUnverified is a certificate that is neither the pinned one nor
// vouched for by the pinned CAs. The error is a *CertificateError.
var ErrUnverified = errors.New("certificate not trusted")

// CertificateError is a server certificate refused by a Pin.
type CertificateError struct {
	// Pinned is the fingerprint expected; zero when a CA was pinned.
	Pinned apitype.Fingerprint
	// Got is the fingerprint of the certificate the server presented.
	Got apitype.Fingerprint
	// Err is why the CAs refused it, when a CA was pinned.
	Err error
}

// Error says what was expected and what came.
func (e *CertificateError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%v: %v (its fingerprint is %s)", ErrUnverified, e.Err, e.Got)
	}
	return fmt.Sprintf("%v: the certificate's fingerprint is %s, not the pinned %s", ErrUnverified, e.Got, e.Pinned)
}

// Unwrap makes errors.Is(err, ErrUnverified) true.
func (e *CertificateError) Unwrap() error { return ErrUnverified }

// TLSConfig is a client TLS configuration that accepts only what p
// trusts.
func (p Pin) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The default verification is replaced, not skipped: a
		// self-signed certificate has no chain to verify, so
		// VerifyConnection checks the pin instead.
		InsecureSkipVerify: true,
		VerifyConnection:   p.verify,
	}
}

func (p Pin) verify(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: the server sent no certificate", ErrUnverified)
	}
	leaf := cs.PeerCertificates[0]
	got := apitype.CertFingerprint(leaf.Raw)
	if p.Roots == nil {
		if got != p.Fingerprint {
			return &CertificateError{Pinned: p.Fingerprint, Got: got}
		}
		return nil
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: p.Roots, Intermediates: inter, DNSName: cs.ServerName}); err != nil {
		return &CertificateError{Got: got, Err: err}
	}
	return nil
}

// HTTPClient is an HTTP client that talks TLS only to servers whose
// certificate p trusts. It follows no redirect to another scheme or
// host, so a token is never sent elsewhere.
func (p Pin) HTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = p.TLSConfig()
	// HTTP/1.1, as bmcd speaks it: the console is a WebSocket upgrade.
	t.ForceAttemptHTTP2 = false
	return &http.Client{Transport: t, CheckRedirect: sameOrigin}
}

// RedirectError is a redirect to another scheme or host that a client
// did not follow, typically bmcd's plain-HTTP port sending the client to
// HTTPS: the client should use To's scheme and host as its address.
type RedirectError struct{ From, To *url.URL }

// Error says where the client should go instead.
func (e *RedirectError) Error() string {
	return fmt.Sprintf("%s://%s redirects to %s://%s: use that address", e.From.Scheme, e.From.Host, e.To.Scheme, e.To.Host)
}

// sameOrigin is an http.Client CheckRedirect that follows redirects only
// within the scheme and host of the first request.
func sameOrigin(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return &RedirectError{From: first, To: req.URL}
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// PlainHTTPClient is the client for an http:// bmcd: like Pin.HTTPClient
// it follows no redirect to another scheme or host.
func PlainHTTPClient() *http.Client { return &http.Client{CheckRedirect: sameOrigin} }

// ServerCertificate connects to the bmcd at baseURL ("https://host:port")
// and returns the certificate it presents, unverified: the caller shows
// its fingerprint to be checked, or compares it with one given.
func ServerCertificate(ctx context.Context, baseURL string) (*x509.Certificate, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return nil, fmt.Errorf("get the certificate of %s: not an https:// address", baseURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	d := tls.Dialer{
		NetDialer: &net.Dialer{Timeout: 30 * time.Second},
		Config: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			ServerName:         u.Hostname(),
			InsecureSkipVerify: true, // only to read the certificate; nothing is sent
		},
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot reach bmcd at %s: %w", baseURL, err)
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, fmt.Errorf("bmcd at %s sent no certificate", baseURL)
	}
	return certs[0], nil
}
