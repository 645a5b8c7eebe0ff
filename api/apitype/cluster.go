package apitype

// ClusterKey is the body of GET /api/v1/cluster/key: the public line of
// bmcd's own SSH client key. Every node bmcd prepares trusts it; add it
// to the authorized keys of nodes joined by address.
type ClusterKey struct {
	PublicKey string `json:"public_key"`
}
