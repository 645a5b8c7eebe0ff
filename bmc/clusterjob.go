package bmc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/flasher/firstboot"
)

// JobKindCluster is the kind of a cluster bootstrap job; a job without a
// kind is a flash job (as every job in older histories is).
const JobKindCluster = "cluster"

// ErrClusterBusy reports a cluster job already queued or running.
var ErrClusterBusy = errors.New("a cluster job is already running")

// The steps of cluster jobs. Up and add: preflight, install-server, join,
// ready, kubeconfig. Remove: drain, uninstall (and kubeconfig when the
// first server went). Down: uninstall-agents, uninstall-servers.
const (
	ClusterStepPreflight        = "preflight"
	ClusterStepInstallServer    = cluster.StepInstallServer // the first server, alone
	ClusterStepJoin             = cluster.StepJoin          // the other servers one at a time, the agents in parallel
	ClusterStepReady            = cluster.StepReady         // every node Ready
	ClusterStepKubeconfig       = "kubeconfig"
	ClusterStepDrain            = cluster.StepDrain
	ClusterStepUninstall        = cluster.StepUninstall
	ClusterStepUninstallAgents  = cluster.StepUninstallAgents
	ClusterStepUninstallServers = cluster.StepUninstallServers
)

// The operations a cluster job does (ClusterJob.Op).
const (
	ClusterOpUp     = "up"
	ClusterOpAdd    = "add"
	ClusterOpRemove = "remove"
	ClusterOpDown   = "down"
)

// ClusterActionInterrupted is the action of a node that was in the middle
// of something when bmcd stopped: what the node did is not known until a
// cluster job looks again.
const ClusterActionInterrupted = "interrupted"

// ClusterAddrNode is a node given by address rather than by slot. Its
// host key is required: bmcd does not trust a key on first use.
type ClusterAddrNode struct {
	Addr    string `json:"addr"`     // host or host:port
	HostKey string `json:"host_key"` // "ssh-ed25519 AAAA…"
	User    string `json:"user,omitempty"`
	// Role is "server" or "agent" (the default).
	Role string `json:"role,omitempty"`
}

// ClusterRequest asks for a cluster: slots by role, and nodes by address.
type ClusterRequest struct {
	Servers []int             `json:"servers"`
	Agents  []int             `json:"agents,omitempty"`
	Nodes   []ClusterAddrNode `json:"nodes,omitempty"`
	// Version is the k3s release; "" is the stable channel.
	Version string `json:"k3s_version,omitempty"`
	// Airgap installs from the controller's air-gap directory
	// (Board.AirgapDir) instead of downloading: the nodes need no
	// internet. The version is then the binary's.
	Airgap bool `json:"airgap,omitempty"`
}

// ClusterNode is one node of a cluster job and how it went.
type ClusterNode struct {
	Name    string `json:"name"`
	Slot    int    `json:"slot,omitempty"`
	Addr    string `json:"addr"`
	User    string `json:"user"`
	HostKey string `json:"host_key"`
	Role    string `json:"role"`
	// Hostname is the name the node reported in preflight, which k3s
	// registers it by.
	Hostname string `json:"hostname,omitempty"`
	// Action is what the install did here (cluster.Action); Error why
	// this node failed.
	Action string `json:"action,omitempty"`
	Error  string `json:"error,omitempty"`
	Ready  bool   `json:"ready,omitempty"`
	// Doing is what the job is doing on the node now ("installing k3s
	// as agent"), empty once the node's part is over.
	Doing string `json:"doing,omitempty"`
}

// ClusterJob is a cluster job's own part of its record.
type ClusterJob struct {
	// Op is up, add, remove or down ("" in older histories: up).
	Op      string        `json:"op,omitempty"`
	Version string        `json:"k3s_version,omitempty"`
	Airgap  bool          `json:"airgap,omitempty"`
	Nodes   []ClusterNode `json:"nodes"`
}

// StartCluster checks the request, resolves its nodes and queues a
// cluster job on the job queue. Bad input is ErrInvalid (a slot is
// ErrNoSlot) and queues nothing.
func (b *Board) StartCluster(req ClusterRequest) (Job, <-chan struct{}, error) {
	nodes, err := b.clusterNodes(req)
	if err != nil {
		return Job{}, nil, err
	}
	var airgap fs.FS
	if req.Airgap {
		if req.Version != "" {
			return Job{}, nil, invalidf("cluster: an air-gapped install runs the k3s binary uploaded; drop the version (%s)", req.Version)
		}
		if airgap, err = b.airgapFS(); err != nil {
			return Job{}, nil, err
		}
	}
	b.clusterMu.Lock()
	defer b.clusterMu.Unlock()
	if err := b.clusterIdle(); err != nil {
		return Job{}, nil, err
	}
	token, err := b.clusterToken()
	if err != nil {
		return Job{}, nil, err
	}
	job := Job{Kind: JobKindCluster, Image: "k3s cluster", Cluster: &ClusterJob{Op: ClusterOpUp, Version: req.Version, Airgap: req.Airgap, Nodes: nodes}}
	return b.jobs.submit(job, func(ctx context.Context, r *jobRun) (error, error) {
		r.start()
		return b.runCluster(ctx, r, nodes, req.Version, token, airgap), nil
	})
}

// clusterIdle fails with ErrClusterBusy while a cluster job is live; the
// caller holds clusterMu.
func (b *Board) clusterIdle() error {
	for _, j := range b.jobs.List() {
		if j.Kind == JobKindCluster && !j.State.Final() {
			return fmt.Errorf("cluster: job %d: %w", j.ID, ErrClusterBusy)
		}
	}
	return nil
}

// clusterNodes resolves a request to nodes: slots from their records
// (host key pinned from the record), addresses with the key given.
func (b *Board) clusterNodes(req ClusterRequest) ([]ClusterNode, error) {
	if len(req.Servers) == 0 && !slices.ContainsFunc(req.Nodes, func(n ClusterAddrNode) bool { return n.Role == "server" }) {
		return nil, invalidf("cluster: no server (give --servers SLOT or a node with role server)")
	}
	seen := map[string]bool{}
	var out []ClusterNode
	add := func(n ClusterNode) error {
		if seen[n.Name] || seen[n.Addr] {
			return invalidf("cluster: node %s given twice", n.Name)
		}
		seen[n.Name], seen[n.Addr] = true, true
		out = append(out, n)
		return nil
	}
	slotNode := func(slot int, role string) error {
		n, err := b.slotClusterNode(slot, role)
		if err != nil {
			return err
		}
		return add(n)
	}
	for _, s := range req.Servers {
		if err := slotNode(s, string(cluster.RoleServer)); err != nil {
			return nil, err
		}
	}
	for _, s := range req.Agents {
		if err := slotNode(s, string(cluster.RoleAgent)); err != nil {
			return nil, err
		}
	}
	// Servers first: the first server initialises the cluster.
	var servers, agents []ClusterNode
	for _, a := range req.Nodes {
		n, err := addrNode(a)
		if err != nil {
			return nil, err
		}
		if n.Role == string(cluster.RoleServer) {
			servers = append(servers, n)
		} else {
			agents = append(agents, n)
		}
	}
	for _, n := range append(servers, agents...) {
		if err := add(n); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(out, func(x, y ClusterNode) int {
		return boolInt(x.Role != string(cluster.RoleServer)) - boolInt(y.Role != string(cluster.RoleServer))
	})
	return out, nil
}

// slotClusterNode is the node bmcd prepared in slot, as a cluster node
// at role.
func (b *Board) slotClusterNode(slot int, role string) (ClusterNode, error) {
	if err := b.checkSlot(slot); err != nil {
		return ClusterNode{}, err
	}
	b.mu.Lock()
	p := b.cfgs[slot-1].Prepared
	b.mu.Unlock()
	if p == nil {
		return ClusterNode{}, invalidf("cluster: slot %d: no node prepared by bmcd (flash it with preparation so bmcd knows its host key, or give it by address with its key)", slot)
	}
	return ClusterNode{Name: p.Hostname, Slot: slot, Addr: withPort(b.nodeAddress(slot, p)), User: p.User, HostKey: p.HostKey, Role: role}, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// addrNode checks a node given by address.
func addrNode(a ClusterAddrNode) (ClusterNode, error) {
	if a.Addr == "" {
		return ClusterNode{}, invalidf("cluster: a node without an address")
	}
	role := a.Role
	switch role {
	case "":
		role = string(cluster.RoleAgent)
	case string(cluster.RoleServer), string(cluster.RoleAgent):
	default:
		return ClusterNode{}, invalidf("cluster: node %s: role %q: want server or agent", a.Addr, a.Role)
	}
	if strings.TrimSpace(a.HostKey) == "" {
		return ClusterNode{}, invalidf("cluster: node %s: no host key (give ADDR=KEYLINE, e.g. from ssh-keyscan checked against the node's console: bmcd does not trust a key on first use)", a.Addr)
	}
	if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(a.HostKey)); err != nil {
		return ClusterNode{}, invalidf("cluster: node %s: host key %q: not an OpenSSH public key line", a.Addr, a.HostKey)
	}
	user := a.User
	if user == "" {
		user = firstboot.DefaultUser
	}
	addr := withPort(a.Addr)
	host, _, _ := net.SplitHostPort(addr)
	return ClusterNode{Name: host, Addr: addr, User: user, HostKey: strings.TrimSpace(a.HostKey), Role: role}, nil
}

// withPort adds SSH's port to an address without one.
func withPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	return net.JoinHostPort(strings.Trim(addr, "[]"), "22")
}
