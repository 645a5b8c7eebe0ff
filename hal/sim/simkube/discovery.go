package simkube

import (
	"net"
	"net/http"
)

// The one resource the simulated API serves.
var nodesResource = struct {
	name, singular, kind string
	verbs, shortNames    []string
}{"nodes", "node", "Node", []string{"get", "list"}, []string{"no"}}

// Aggregated discovery (apidiscovery.k8s.io), which kubectl asks for
// first: one answer per /api and /apis instead of one per group version.
type (
	discoveryList struct {
		Kind       string           `json:"kind"`
		APIVersion string           `json:"apiVersion"`
		Metadata   struct{}         `json:"metadata"`
		Items      []discoveryGroup `json:"items"`
	}
	discoveryGroup struct {
		Metadata struct {
			Name              string `json:"name,omitempty"`
			CreationTimestamp any    `json:"creationTimestamp"`
		} `json:"metadata"`
		Versions []discoveryVersion `json:"versions"`
	}
	discoveryVersion struct {
		Version   string              `json:"version"`
		Resources []discoveryResource `json:"resources"`
		Freshness string              `json:"freshness"`
	}
	discoveryResource struct {
		Resource         string            `json:"resource"`
		ResponseKind     map[string]string `json:"responseKind"`
		Scope            string            `json:"scope"`
		SingularResource string            `json:"singularResource"`
		Verbs            []string          `json:"verbs"`
		ShortNames       []string          `json:"shortNames"`
	}
)

const discoveryGroupName = "apidiscovery.k8s.io"

// discoveryVersions are the aggregated discovery versions served, newest
// first.
var discoveryVersions = []string{"v2", "v2beta1"}

// coreDiscovery is /api: the core group (v1, with nodes) aggregated, or
// the legacy APIVersions.
func (h *handler) coreDiscovery(w http.ResponseWriter, r *http.Request, _ user) {
	v, ok := negotiate(r.Header.Get("Accept"), "APIGroupDiscoveryList", discoveryGroupName, discoveryVersions...)
	switch {
	case !ok:
		writeStatus(w, http.StatusNotAcceptable, "NotAcceptable", "only application/json is served")
	case v != "":
		var g discoveryGroup
		g.Versions = []discoveryVersion{{Version: "v1", Freshness: "Current", Resources: []discoveryResource{{
			Resource:         nodesResource.name,
			ResponseKind:     map[string]string{"group": "", "version": "v1", "kind": nodesResource.kind},
			Scope:            "Cluster",
			SingularResource: nodesResource.singular,
			Verbs:            nodesResource.verbs,
			ShortNames:       nodesResource.shortNames,
		}}}}
		writeDiscovery(w, v, []discoveryGroup{g})
	default:
		writeJSON(w, http.StatusOK, "application/json", map[string]any{
			"kind": "APIVersions", "versions": []string{"v1"},
			"serverAddressByClientCIDRs": []map[string]string{{"clientCIDR": "0.0.0.0/0", "serverAddress": serverAddress(r)}},
		})
	}
}

// groupDiscovery is /apis: the simulated API serves no named group.
func (h *handler) groupDiscovery(w http.ResponseWriter, r *http.Request, _ user) {
	v, ok := negotiate(r.Header.Get("Accept"), "APIGroupDiscoveryList", discoveryGroupName, discoveryVersions...)
	switch {
	case !ok:
		writeStatus(w, http.StatusNotAcceptable, "NotAcceptable", "only application/json is served")
	case v != "":
		writeDiscovery(w, v, []discoveryGroup{})
	default:
		writeJSON(w, http.StatusOK, "application/json", map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{}})
	}
}

func writeDiscovery(w http.ResponseWriter, version string, groups []discoveryGroup) {
	writeJSON(w, http.StatusOK, "application/json;g="+discoveryGroupName+";v="+version+";as=APIGroupDiscoveryList",
		discoveryList{Kind: "APIGroupDiscoveryList", APIVersion: discoveryGroupName + "/" + version, Items: groups})
}

// coreResources is /api/v1, the legacy discovery of the core group.
func (h *handler) coreResources(w http.ResponseWriter, _ *http.Request, _ user) {
	writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"kind": "APIResourceList", "groupVersion": "v1",
		"resources": []map[string]any{{
			"name": nodesResource.name, "singularName": nodesResource.singular, "namespaced": false,
			"kind": nodesResource.kind, "verbs": nodesResource.verbs, "shortNames": nodesResource.shortNames,
		}},
	})
}

// serverAddress is the address the client reached the server at.
func serverAddress(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return a.String()
	}
	return r.Host
}
