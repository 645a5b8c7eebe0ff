package api

import (
	"net"
	"net/http"
	"net/url"
)

// HTTPSRedirect answers every plain-HTTP request with a redirect to the
// same host, path and query over HTTPS on httpsPort ("443" is left out
// of the URL). 308 keeps the method and the body, so a client that
// followed it would repeat a POST over TLS; a client should rather be
// pointed at the https URL, as bmcctl says when it meets the redirect.
func HTTPSRedirect(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := (&url.URL{Host: r.Host}).Hostname()
		if host == "" {
			http.Error(w, "bmcd serves HTTPS only: no Host header to redirect to", http.StatusBadRequest)
			return
		}
		if httpsPort != "443" {
			host = net.JoinHostPort(host, httpsPort)
		} else if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			host = "[" + host + "]"
		}
		u := url.URL{Scheme: "https", Host: host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.Redirect(w, r, u.String(), http.StatusPermanentRedirect)
	})
}
