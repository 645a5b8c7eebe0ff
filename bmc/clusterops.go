package bmc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
)

// ClusterAddRequest adds one node to the cluster bmcd bootstrapped: a
// slot bmcd prepared (Slot, Role) or a node by address (Node, whose Role
// counts).
type ClusterAddRequest struct {
	Slot int              `json:"slot,omitempty"`
	Role string           `json:"role,omitempty"` // for Slot: server or agent (the default)
	Node *ClusterAddrNode `json:"node,omitempty"`
}

// StartClusterAdd queues a job that joins one more node to the cluster:
// the cluster's nodes and the new one go through preflight (hostnames
// must stay unique) and the install, which finds k3s already running on
// the members and installs only the new node; then every node must be
// Ready. Bad input is ErrInvalid; without a cluster, ErrNoCluster.
func (b *Board) StartClusterAdd(req ClusterAddRequest) (Job, <-chan struct{}, error) {
	var n ClusterNode
	var err error
	switch {
	case (req.Slot == 0) == (req.Node == nil):
		return Job{}, nil, invalidf("cluster add: give a slot or a node by address")
	case req.Node != nil:
		n, err = addrNode(*req.Node)
	default:
		role := req.Role
		if role == "" {
			role = string(cluster.RoleAgent)
		}
		if role != string(cluster.RoleServer) && role != string(cluster.RoleAgent) {
			return Job{}, nil, invalidf("cluster add: role %q: want server or agent", req.Role)
		}
		n, err = b.slotClusterNode(req.Slot, role)
	}
	if err != nil {
		return Job{}, nil, err
	}
	b.clusterMu.Lock()
	defer b.clusterMu.Unlock()
	if err := b.clusterIdle(); err != nil {
		return Job{}, nil, err
	}
	st, err := b.savedCluster()
	if err != nil {
		return Job{}, nil, err
	}
	for _, m := range st.Nodes {
		if m.Name == n.Name || m.Addr == n.Addr {
			return Job{}, nil, invalidf("cluster add: node %s (%s) is already in the cluster", n.Name, n.Addr)
		}
	}
	nodes := append(cleanNodes(st.Nodes), n)
	// Servers first, as up orders them: the first server stays first.
	slices.SortStableFunc(nodes, func(x, y ClusterNode) int {
		return boolInt(x.Role != string(cluster.RoleServer)) - boolInt(y.Role != string(cluster.RoleServer))
	})
	token, err := b.clusterToken()
	if err != nil {
		return Job{}, nil, err
	}
	// A node joins the way the cluster was installed: air-gapped from
	// the controller's files, or online.
	var airgap fs.FS
	if st.Airgap {
		if airgap, err = b.airgapFS(); err != nil {
			return Job{}, nil, err
		}
	}
	job := Job{Kind: JobKindCluster, Image: "k3s cluster: add " + n.Name, Cluster: &ClusterJob{Op: ClusterOpAdd, Version: st.Version, Airgap: st.Airgap, Nodes: nodes}}
	return b.jobs.submit(job, func(ctx context.Context, r *jobRun) (error, error) {
		r.start()
		return b.runCluster(ctx, r, nodes, st.Version, token, airgap), nil
	})
}

// StartClusterRemove queues a job that takes one node out of the
// cluster: named by its node name, its slot number or its address. It is
// drained and deleted on a server that stays, then k3s is uninstalled
// from it. The last server cannot go while agents remain
// (cluster.ErrLastServer). When the first server goes, the next server
// is first and the kubeconfig is fetched from it; when the last node
// goes, the cluster is gone as after down.
func (b *Board) StartClusterRemove(target string) (Job, <-chan struct{}, error) {
	b.clusterMu.Lock()
	defer b.clusterMu.Unlock()
	if err := b.clusterIdle(); err != nil {
		return Job{}, nil, err
	}
	st, err := b.savedCluster()
	if err != nil {
		return Job{}, nil, err
	}
	i := findClusterNode(st.Nodes, target)
	if i < 0 {
		return Job{}, nil, invalidf("cluster remove: %q is not a node of the cluster (give its name, slot or address as 'bmcctl cluster status' lists it)", target)
	}
	n := st.Nodes[i]
	rest := cleanNodes(slices.Delete(slices.Clone(st.Nodes), i, i+1))
	serverStays := slices.ContainsFunc(rest, func(m ClusterNode) bool { return m.Role == string(cluster.RoleServer) })
	if !serverStays && len(rest) > 0 {
		return Job{}, nil, fmt.Errorf("cluster remove %s: %w (%d left): remove them first, or take the whole cluster down", n.Name, cluster.ErrLastServer, len(rest))
	}
	firstGoes := i == 0 && len(rest) > 0
	job := Job{Kind: JobKindCluster, Image: "k3s cluster: remove " + n.Name, Cluster: &ClusterJob{Op: ClusterOpRemove, Version: st.Version, Nodes: cleanNodes([]ClusterNode{n})}}
	return b.jobs.submit(job, func(ctx context.Context, r *jobRun) (error, error) {
		r.start()
		return b.runClusterRemove(ctx, r, n, rest, firstGoes, st), nil
	})
}

// st is the cluster before the removal; what it says of the whole
// cluster (version, air-gap) stays.
func (b *Board) runClusterRemove(ctx context.Context, r *jobRun, n ClusterNode, rest []ClusterNode, firstGoes bool, st ClusterStatus) error {
	all := append([]ClusterNode{n}, rest...)
	cnodes, d, closeDialer, err := b.clusterDialer(all)
	if err != nil {
		return err
	}
	defer closeDialer()
	spec := cluster.RemoveSpec{Node: cnodes[0], Role: cluster.Role(n.Role), Hostname: b.nodeHostname(n), Logger: b.log, Observer: b.clusterObserver(ctx, r)}
	if len(rest) > 0 {
		spec.Via = &cnodes[1] // the first server that stays: rest keeps servers first
	}
	if _, err := cluster.Remove(ctx, d, spec); err != nil {
		return err
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if len(rest) == 0 {
		return b.forgetCluster()
	}
	if firstGoes {
		r.step(ClusterStepKubeconfig)
		if err := b.keepKubeconfig(ctx, d, cnodes[1]); err != nil {
			return err
		}
	}
	return b.saveClusterState(ClusterStatus{Nodes: rest, Version: st.Version, Airgap: st.Airgap})
}

// StartClusterDown queues a job that uninstalls k3s from every node of
// the cluster, agents first, then servers. Once all are gone, bmcd
// forgets the cluster: its nodes, its kubeconfig and its token (the next
// up makes a new one, so a node that missed the down and still holds the
// old token cannot join the new cluster). A node that fails keeps all
// three, and down again finishes the job.
func (b *Board) StartClusterDown() (Job, <-chan struct{}, error) {
	b.clusterMu.Lock()
	defer b.clusterMu.Unlock()
	if err := b.clusterIdle(); err != nil {
		return Job{}, nil, err
	}
	st, err := b.savedCluster()
	if err != nil {
		return Job{}, nil, err
	}
	nodes := cleanNodes(st.Nodes)
	job := Job{Kind: JobKindCluster, Image: "k3s cluster: down", Cluster: &ClusterJob{Op: ClusterOpDown, Version: st.Version, Nodes: nodes}}
	return b.jobs.submit(job, func(ctx context.Context, r *jobRun) (error, error) {
		r.start()
		return b.runClusterDown(ctx, r, nodes), nil
	})
}

func (b *Board) runClusterDown(ctx context.Context, r *jobRun, nodes []ClusterNode) error {
	cnodes, d, closeDialer, err := b.clusterDialer(nodes)
	if err != nil {
		return err
	}
	defer closeDialer()
	spec := cluster.DownSpec{Logger: b.log, Observer: b.clusterObserver(ctx, r)}
	for i, n := range nodes {
		if n.Role == string(cluster.RoleServer) {
			spec.Servers = append(spec.Servers, cnodes[i])
		} else {
			spec.Agents = append(spec.Agents, cnodes[i])
		}
	}
	if _, err := cluster.Down(ctx, d, spec); err != nil {
		return err
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return b.forgetCluster()
}

// forgetCluster removes the kept cluster once no node runs it: its
// state, kubeconfig and token.
func (b *Board) forgetCluster() error {
	for _, f := range []string{clusterStateFile, clusterKubeconfigFile, clusterTokenFile} {
		if err := os.Remove(filepath.Join(b.cfg.StateDir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("bmc: forget the cluster: %w", err)
		}
	}
	return nil
}

// savedCluster is the cluster the last successful up, add or remove
// left; ErrNoCluster without one.
func (b *Board) savedCluster() (ClusterStatus, error) {
	st, err := b.readClusterState()
	if err != nil {
		return ClusterStatus{}, err
	}
	if len(st.Nodes) == 0 {
		return ClusterStatus{}, fmt.Errorf("cluster: %w (run 'cluster up' first)", ErrNoCluster)
	}
	return st, nil
}

// nodeHostname is the name k3s knows n by: the hostname it reported in
// preflight (a slot's node name is that hostname already).
func (b *Board) nodeHostname(n ClusterNode) string {
	if n.Hostname != "" {
		return n.Hostname
	}
	return n.Name
}

// findClusterNode finds target among nodes: a node name, a slot number,
// or an address with or without its port.
func findClusterNode(nodes []ClusterNode, target string) int {
	slot, serr := strconv.Atoi(target)
	return slices.IndexFunc(nodes, func(n ClusterNode) bool {
		host, _, _ := net.SplitHostPort(n.Addr)
		return n.Name == target || n.Addr == target || host == target || (serr == nil && n.Slot != 0 && n.Slot == slot)
	})
}

// cleanNodes copies nodes without what an earlier job did on them.
func cleanNodes(nodes []ClusterNode) []ClusterNode {
	out := make([]ClusterNode, len(nodes))
	for i, n := range nodes {
		n.Action, n.Error, n.Ready, n.Doing = "", "", false, ""
		out[i] = n
	}
	return out
}
