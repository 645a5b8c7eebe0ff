package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// newAPI is the server's :6443: the supervisor's unauthenticated
// /cacerts and /ping, the registration the joiners use (basic auth with
// the token's secret), and the part of the Kubernetes API that
// `kubectl get nodes` asks for (client certificates of the cluster CA
// only).
func newAPI(c *ca, st store, version string) http.Handler {
	started := time.Now().UTC()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cacerts", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(c.certPEM) })
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("pong")) })
	mux.HandleFunc("POST /v1-standin/register", func(w http.ResponseWriter, r *http.Request) {
		user, pw, ok := r.BasicAuth()
		if !ok || pw != st.secret() || (user != "node" && user != "server") {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		var n node
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil || n.Hostname == "" {
			http.Error(w, "bad registration", http.StatusBadRequest)
			return
		}
		if n.IP == "" {
			n.IP = remoteIP(r)
		}
		if n.Role == "server" && user != "server" {
			http.Error(w, "a node token cannot join a server", http.StatusForbidden)
			return
		}
		if err := st.register(n); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		var rep joinReply
		if n.Role == "server" {
			rep.CA, rep.CAKey = c.certPEM, c.keyPEM
		}
		writeJSON(w, rep)
	})
	mux.HandleFunc("GET /v1-standin/nodes", func(w http.ResponseWriter, r *http.Request) {
		if user, pw, ok := r.BasicAuth(); !ok || user != "server" || pw != st.secret() {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		ns, err := st.list()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, ns)
	})
	kube := newKubeAPI(st, version, started)
	mux.Handle("/", requireClientCert(kube))
	return mux
}

// requireClientCert refuses requests without a certificate of the
// cluster CA (the TLS layer verified any that was given), as k3s's API
// refuses anonymous requests.
func requireClientCert(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func remoteIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
