package main

import (
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/turingpi-oss/bmcd/hal/sim/simkube"
)

// newAPI is the server's :6443: the registration joiners use (basic auth
// with the token's secret) and the datastore's node list for joined
// servers, beside package simkube's API — the supervisor's /cacerts and
// /ping, and what `kubectl get nodes` asks, for the cluster's client
// certificates — answering with the registered nodes.
func newAPI(b *bundle, creds *simkube.Credentials, st store, version string) http.Handler {
	mux := http.NewServeMux()
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
			rep.Bundle = b
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
	started := time.Now()
	mux.Handle("/", simkube.NewHandler(simkube.Config{
		Credentials: creds,
		Version:     version,
		// Registered nodes are Ready; a datastore out of reach lists
		// none, as an API whose etcd is gone answers nothing useful.
		Nodes: simkube.NodeListerFunc(func() []simkube.Node {
			ns, err := st.list()
			if err != nil {
				return nil
			}
			out := make([]simkube.Node, len(ns))
			for i, n := range ns {
				out[i] = simkube.Node{Name: n.Hostname, InternalIP: n.IP, Server: n.Role == "server", Etcd: n.Etcd,
					Ready: true, KubeletVersion: version, Arch: runtime.GOARCH, Created: started}
			}
			return out
		}),
	}))
	return mux
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
