package client

import (
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

func tlsServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			http.Redirect(w, r, "http://"+r.Host+"/healthz", http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestPin(t *testing.T) {
	t.Parallel()
	srv := tlsServer(t)
	served := apitype.CertFingerprint(srv.Certificate().Raw)
	own := x509.NewCertPool()
	own.AddCert(srv.Certificate())
	// httptest servers share one certificate; a CA of our own stands for
	// one that did not sign it.
	stranger := x509.NewCertPool()
	stranger.AddCert(&x509.Certificate{Raw: []byte("x")})
	tests := []struct {
		name string
		pin  Pin
		ok   bool
	}{
		{name: "pinned fingerprint", pin: Pin{Fingerprint: served}, ok: true},
		{name: "other fingerprint", pin: Pin{Fingerprint: apitype.CertFingerprint([]byte("other"))}},
		{name: "CA that signed it", pin: Pin{Roots: own}, ok: true},
		{name: "CA that did not", pin: Pin{Roots: x509.NewCertPool()}},
		{name: "CA pinned, fingerprint ignored", pin: Pin{Fingerprint: served, Roots: stranger}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := New(srv.URL, WithHTTPClient(tc.pin.HTTPClient()))
			err := c.Health(t.Context())
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrUnverified)
			var ce *CertificateError
			require.True(t, errors.As(err, &ce), "%v", err)
			assert.Equal(t, served, ce.Got)
			assert.Contains(t, err.Error(), served.String(), "the error names what was served")
			assert.Contains(t, err.Error(), srv.URL)
		})
	}
}

func TestServerCertificate(t *testing.T) {
	t.Parallel()
	srv := tlsServer(t)
	cert, err := ServerCertificate(t.Context(), srv.URL)
	require.NoError(t, err)
	assert.Equal(t, srv.Certificate().Raw, cert.Raw)

	_, err = ServerCertificate(t.Context(), strings.Replace(srv.URL, "https", "http", 1))
	assert.ErrorContains(t, err, "not an https:// address")
}

func TestRedirectToOtherSchemeNotFollowed(t *testing.T) {
	t.Parallel()
	srv := tlsServer(t)
	c := New(srv.URL, WithHTTPClient(Pin{Fingerprint: apitype.CertFingerprint(srv.Certificate().Raw)}.HTTPClient()))
	err := c.do(t.Context(), "get", http.MethodGet, "/elsewhere", nil, nil)
	var re *RedirectError
	require.True(t, errors.As(err, &re), "%v", err)
	assert.Equal(t, "http", re.To.Scheme)
	assert.Contains(t, err.Error(), "redirects to http://")

	plain := httptest.NewServer(http.RedirectHandler(srv.URL+"/healthz", http.StatusPermanentRedirect))
	t.Cleanup(plain.Close)
	err = New(plain.URL, WithHTTPClient(PlainHTTPClient())).Health(t.Context())
	require.True(t, errors.As(err, &re), "%v", err)
	assert.Equal(t, "https", re.To.Scheme)
}

// TestPinnedConsole: the console WebSocket goes through the pinned
// client too, so a changed certificate cannot take the session.
func TestPinnedConsole(t *testing.T) {
	t.Parallel()
	s := &consoleServer{done: make(chan struct{})}
	srv := httptest.NewTLSServer(s)
	t.Cleanup(srv.Close)
	pinned := Pin{Fingerprint: apitype.CertFingerprint(srv.Certificate().Raw)}
	cc, err := New(srv.URL, WithToken("tok"), WithHTTPClient(pinned.HTTPClient())).DialConsole(t.Context(), 3, ConsoleOptions{})
	require.NoError(t, err)
	require.NoError(t, cc.Close())

	other := Pin{Fingerprint: apitype.CertFingerprint([]byte("other"))}
	_, err = New(srv.URL, WithToken("tok"), WithHTTPClient(other.HTTPClient())).DialConsole(t.Context(), 3, ConsoleOptions{})
	assert.ErrorIs(t, err, ErrUnverified)
}
