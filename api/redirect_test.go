package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/turingpi-oss/bmcd/api"
)

func TestHTTPSRedirect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		port   string
		method string
		target string
		host   string
		status int
		want   string
	}{
		{name: "path and query kept", port: "443", method: "GET", target: "/api/v1/slots?x=1", host: "turingpi.local", status: http.StatusPermanentRedirect, want: "https://turingpi.local/api/v1/slots?x=1"},
		{name: "http port dropped", port: "443", method: "GET", target: "/", host: "10.0.0.5:80", status: http.StatusPermanentRedirect, want: "https://10.0.0.5/"},
		{name: "other https port", port: "8443", method: "GET", target: "/a%2Fb", host: "10.0.0.5:8080", status: http.StatusPermanentRedirect, want: "https://10.0.0.5:8443/a%2Fb"},
		{name: "IPv6", port: "443", method: "GET", target: "/", host: "[fd00::5]:80", status: http.StatusPermanentRedirect, want: "https://[fd00::5]/"},
		{name: "IPv6 other port", port: "8443", method: "GET", target: "/", host: "[fd00::5]", status: http.StatusPermanentRedirect, want: "https://[fd00::5]:8443/"},
		{name: "POST keeps its method", port: "443", method: "POST", target: "/api/v1/auth/login", host: "bmc", status: http.StatusPermanentRedirect, want: "https://bmc/api/v1/auth/login"},
		{name: "no host", port: "443", method: "GET", target: "/", host: "", status: http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tc.method, tc.target, nil)
			r.Host = tc.host
			w := httptest.NewRecorder()
			api.HTTPSRedirect(tc.port).ServeHTTP(w, r)
			assert.Equal(t, tc.status, w.Code)
			assert.Equal(t, tc.want, w.Header().Get("Location"))
		})
	}
}
