package main

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"time"
)

// newKubeAPI serves what `kubectl get nodes` asks: version, the legacy
// discovery documents, and the nodes (as a NodeList, or as the Table
// kubectl asks for to print them), from the registry.
func newKubeAPI(st store, version string, started time.Time) http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/readyz", "/livez", "/healthz"} {
		mux.HandleFunc("GET "+p, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	}
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		major, minor := "1", "33"
		if f := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3); len(f) == 3 {
			major, minor = f[0], f[1]
		}
		writeJSON(w, map[string]string{"major": major, "minor": minor, "gitVersion": version, "platform": "linux/" + runtime.GOARCH})
	})
	mux.HandleFunc("GET /api", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"kind": "APIVersions", "versions": []string{"v1"},
			"serverAddressByClientCIDRs": []map[string]string{{"clientCIDR": "0.0.0.0/0", "serverAddress": r.Host}}})
	})
	mux.HandleFunc("GET /apis", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{}})
	})
	mux.HandleFunc("GET /api/v1", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"kind": "APIResourceList", "groupVersion": "v1", "resources": []map[string]any{{
			"name": "nodes", "singularName": "node", "namespaced": false, "kind": "Node",
			"verbs": []string{"get", "list"}, "shortNames": []string{"no"},
		}}})
	})
	mux.HandleFunc("GET /api/v1/nodes", func(w http.ResponseWriter, r *http.Request) {
		ns, err := st.list()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		if strings.Contains(r.Header.Get("Accept"), "as=Table") {
			writeJSON(w, nodeTable(ns, version, started))
			return
		}
		items := make([]any, len(ns))
		for i, n := range ns {
			items[i] = nodeObject(n, version, started)
		}
		writeJSON(w, map[string]any{"kind": "NodeList", "apiVersion": "v1", "metadata": map[string]string{"resourceVersion": "1"}, "items": items})
	})
	mux.HandleFunc("GET /api/v1/nodes/{name}", func(w http.ResponseWriter, r *http.Request) {
		ns, err := st.list()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		for _, n := range ns {
			if n.Hostname == r.PathValue("name") {
				writeJSON(w, nodeObject(n, version, started))
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"nodes %q not found","reason":"NotFound","details":{"name":%q,"kind":"nodes"},"code":404}`,
			r.PathValue("name"), r.PathValue("name"))
	})
	return mux
}

func roles(n node) string {
	if n.Role != "server" {
		return "<none>"
	}
	if n.Etcd {
		return "control-plane,etcd,master"
	}
	return "control-plane,master"
}

func nodeObject(n node, version string, started time.Time) map[string]any {
	labels := map[string]string{"kubernetes.io/hostname": n.Hostname, "kubernetes.io/os": "linux", "kubernetes.io/arch": runtime.GOARCH}
	if n.Role == "server" {
		labels["node-role.kubernetes.io/control-plane"] = "true"
		labels["node-role.kubernetes.io/master"] = "true"
		if n.Etcd {
			labels["node-role.kubernetes.io/etcd"] = "true"
		}
	}
	ts := started.Format(time.RFC3339)
	return map[string]any{
		"kind": "Node", "apiVersion": "v1",
		"metadata": map[string]any{"name": n.Hostname, "labels": labels, "creationTimestamp": ts},
		"status": map[string]any{
			"conditions": []map[string]string{{"type": "Ready", "status": "True", "reason": "KubeletReady",
				"message": "kubelet is posting ready status", "lastHeartbeatTime": ts, "lastTransitionTime": ts}},
			"addresses": []map[string]string{{"type": "InternalIP", "address": n.IP}, {"type": "Hostname", "address": n.Hostname}},
			"nodeInfo":  map[string]string{"kubeletVersion": version, "operatingSystem": "linux", "architecture": runtime.GOARCH},
		},
	}
}

func nodeTable(ns []node, version string, started time.Time) map[string]any {
	col := func(name, format string) map[string]any {
		return map[string]any{"name": name, "type": "string", "format": format, "description": "", "priority": 0}
	}
	age := time.Since(started).Round(time.Second).String()
	rows := make([]any, len(ns))
	for i, n := range ns {
		rows[i] = map[string]any{
			"cells": []string{n.Hostname, "Ready", roles(n), age, version},
			"object": map[string]any{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
				"metadata": map[string]any{"name": n.Hostname, "creationTimestamp": started.Format(time.RFC3339)}},
		}
	}
	return map[string]any{
		"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": map[string]string{"resourceVersion": "1"},
		"columnDefinitions": []any{col("Name", "name"), col("Status", ""), col("Roles", ""), col("Age", ""), col("Version", "")},
		"rows":              rows,
	}
}
