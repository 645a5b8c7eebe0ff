package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api"
)

// TestSecurityHeaders: every answer, errors and unknown paths included,
// carries the page's defences; HSTS only over TLS.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tlsSrv := httptest.NewTLSServer(f.srv.Config.Handler)
	t.Cleanup(tlsSrv.Close)
	tests := []struct {
		name   string
		srv    *httptest.Server
		method string
		path   string
		status int
	}{
		{name: "health", srv: f.srv, method: "GET", path: "/healthz", status: http.StatusOK},
		{name: "no token", srv: f.srv, method: "GET", path: "/api/v1/slots", status: http.StatusUnauthorized},
		{name: "unknown path", srv: f.srv, method: "GET", path: "/nowhere", status: http.StatusNotFound},
		{name: "bad login", srv: f.srv, method: "POST", path: "/api/v1/auth/login", status: http.StatusBadRequest},
		{name: "over TLS", srv: tlsSrv, method: "GET", path: "/healthz", status: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tc.method, tc.srv.URL+tc.path, nil)
			require.NoError(t, err)
			resp, err := tc.srv.Client().Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode)
			h := resp.Header
			assert.Equal(t, api.ContentSecurityPolicy, h.Get("Content-Security-Policy"))
			for _, directive := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
				assert.Contains(t, h.Get("Content-Security-Policy"), directive)
			}
			assert.NotContains(t, h.Get("Content-Security-Policy"), "unsafe-inline")
			assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
			assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
			assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
			assert.Contains(t, h.Get("Permissions-Policy"), "camera=()")
			if tc.srv == tlsSrv {
				assert.Equal(t, "max-age=31536000", h.Get("Strict-Transport-Security"))
			} else {
				assert.Empty(t, h.Get("Strict-Transport-Security"), "HSTS over plain HTTP means nothing")
			}
		})
	}
}
