package apitype

// ClusterKey is the body of GET /api/v1/cluster/key: the public line of
// bmcd's own SSH client key. Every node bmcd prepares trusts it; add it
// to the authorized keys of nodes joined by address.
type ClusterKey struct {
	PublicKey string `json:"public_key"`
}

// ClusterAddrNode is a node of a cluster given by address. HostKey is
// required: bmcd does not trust a key on first use.
type ClusterAddrNode struct {
	Addr    string `json:"addr"`
	HostKey string `json:"host_key"`
	User    string `json:"user,omitempty"`
	Role    string `json:"role,omitempty"` // server or agent (default)
}

// ClusterRequest is the body of POST /api/v1/cluster.
type ClusterRequest struct {
	Servers    []int             `json:"servers"`
	Agents     []int             `json:"agents,omitempty"`
	Nodes      []ClusterAddrNode `json:"nodes,omitempty"`
	K3sVersion string            `json:"k3s_version,omitempty"`
	// Airgap installs from the air-gap files on the controller (PUT
	// /api/v1/cluster/airgap/{file}); the nodes need no internet.
	Airgap bool `json:"airgap,omitempty"`
}

// AirgapFile is one air-gap file on the controller, as GET and PUT
// /api/v1/cluster/airgap answer it.
type AirgapFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ClusterNode is one node of a cluster job or of the cluster.
type ClusterNode struct {
	Name    string `json:"name"`
	Slot    int    `json:"slot,omitempty"`
	Addr    string `json:"addr"`
	User    string `json:"user"`
	HostKey string `json:"host_key"`
	Role    string `json:"role"`
	// Action is what the install did: installed, already running,
	// failed or not run; Error why the node failed.
	Action string `json:"action,omitempty"`
	Error  string `json:"error,omitempty"`
	Ready  bool   `json:"ready"`
	// Hostname is the name k3s knows the node by (from preflight).
	Hostname string `json:"hostname,omitempty"`
	// Doing is what a running job is doing on the node now.
	Doing string `json:"doing,omitempty"`
}

// ClusterAddRequest is the body of POST /api/v1/cluster/nodes: a slot
// bmcd prepared (with role), or a node by address (its role inside).
type ClusterAddRequest struct {
	Slot int              `json:"slot,omitempty"`
	Role string           `json:"role,omitempty"` // server or agent (default)
	Node *ClusterAddrNode `json:"node,omitempty"`
}

// ClusterStatus is the body of GET /api/v1/cluster: the nodes as the last
// cluster job left them.
type ClusterStatus struct {
	Nodes      []ClusterNode `json:"nodes"`
	K3sVersion string        `json:"k3s_version,omitempty"`
	LastJob    int64         `json:"last_job"`
	LastState  string        `json:"last_state"`
	Kubeconfig bool          `json:"kubeconfig"`
}
