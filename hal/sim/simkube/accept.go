package simkube

import (
	"mime"
	"strings"
)

// mediaType is one entry of an Accept header: its type and parameters
// (Kubernetes asks for a representation with as=, g= and v=).
type mediaType struct {
	typ    string
	params map[string]string
}

// parseAccept splits an Accept header into its media types, in the
// client's order of preference (Kubernetes clients list them so, without
// q-values). Entries that do not parse are left out.
func parseAccept(h string) []mediaType {
	var out []mediaType
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		typ, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		out = append(out, mediaType{typ: typ, params: params})
	}
	return out
}

// accepts reports whether m is JSON (or anything) for a client.
func (m mediaType) json() bool {
	return m.typ == "application/json" || m.typ == "*/*" || m.typ == "application/*"
}

// as reports whether m asks for JSON as kind in group g at one of the
// versions, and returns the version.
func (m mediaType) as(kind, group string, versions ...string) (string, bool) {
	if m.typ != "application/json" || m.params["as"] != kind || m.params["g"] != group {
		return "", false
	}
	for _, v := range versions {
		if m.params["v"] == v {
			return v, true
		}
	}
	return "", false
}

// negotiate picks the representation for an Accept header: the first
// entry that asks for kind in group (at one of versions) wins and its
// version is returned; else plain JSON if the client takes it (version
// ""); ok is false when the client takes neither.
func negotiate(accept, kind, group string, versions ...string) (version string, ok bool) {
	types := parseAccept(accept)
	if len(types) == 0 {
		return "", true // no Accept header: anything goes
	}
	for _, m := range types {
		if v, ok := m.as(kind, group, versions...); ok {
			return v, true
		}
		if m.json() && len(m.params) == 0 {
			return "", true
		}
	}
	return "", false
}
