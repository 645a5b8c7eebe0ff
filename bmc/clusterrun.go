package bmc

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"path/filepath"
	"slices"

	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/hal/atomicfile"
)

// ClusterName names the cluster, context and user of the kubeconfig.
const ClusterName = "turingpi"

// runCluster is a cluster job's work: preflight on every node, then the
// install (first server, the joins in parallel, every node Ready), then
// the kubeconfig, kept in the state directory. airgap, when set, holds
// the files of an air-gapped install.
func (b *Board) runCluster(ctx context.Context, r *jobRun, nodes []ClusterNode, version, token string, airgap fs.FS) error {
	cnodes := make([]cluster.Node, len(nodes))
	users := make(map[string]string, len(nodes))
	var spec cluster.InstallSpec
	for i, n := range nodes {
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(n.HostKey))
		if err != nil {
			return fmt.Errorf("node %s: recorded host key: %w", n.Name, err)
		}
		cnodes[i] = cluster.Node{Name: n.Name, Addr: n.Addr, HostKey: pk}
		users[n.Name] = n.User
		if n.Role == string(cluster.RoleServer) {
			spec.Servers = append(spec.Servers, cnodes[i])
		} else {
			spec.Agents = append(spec.Agents, cnodes[i])
		}
	}
	var d cluster.Dialer
	if b.cfg.ClusterDialer != nil {
		d = b.cfg.ClusterDialer(users)
	} else {
		d = newUserDialer(b.clusterKey, users)
	}
	if c, ok := d.(io.Closer); ok {
		defer func() { _ = c.Close() }() // the job's connections end with it
	}

	r.step(ClusterStepPreflight)
	rep := cluster.Preflight(ctx, d, cnodes, cluster.DefaultLimits)
	b.clusterNodesUpdate(r, func(ns []ClusterNode) {
		for _, f := range rep.Findings {
			if i := nodeIndex(ns, f.Node); i >= 0 && !f.OK && ns[i].Error == "" {
				ns[i].Error = fmt.Sprintf("%s: %s", f.Check, f.Detail)
			}
		}
	})
	if err := ctx.Err(); err != nil {
		return err // cancelled or stopped: the findings only echo it
	}
	if err := rep.Err(); err != nil {
		return err
	}

	r.step(ClusterStepInstall)
	spec.Token, spec.Version, spec.Clock, spec.Logger = token, version, b.clock, b.log
	spec.Hostnames, spec.Arch, spec.Airgap = map[string]string{}, map[string]string{}, airgap
	for name, f := range rep.Facts {
		spec.Hostnames[name], spec.Arch[name] = f.Hostname, f.Arch
	}
	outs, err := cluster.Install(ctx, d, spec)
	b.clusterNodesUpdate(r, func(ns []ClusterNode) {
		for _, o := range outs {
			if i := nodeIndex(ns, o.Node); i >= 0 {
				ns[i].Action = string(o.Action)
				if o.Err != nil {
					ns[i].Error = o.Err.Error()
				}
				ns[i].Ready = err == nil
			}
		}
	})
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if err != nil {
		return err
	}

	r.step(ClusterStepKubeconfig)
	first := spec.Servers[0]
	run, err := d.Dial(ctx, first)
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(first.Addr)
	if err != nil {
		return fmt.Errorf("server %s: %w", first, err)
	}
	kc, err := cluster.FetchKubeconfig(ctx, run, ClusterName, host)
	if err != nil {
		return fmt.Errorf("kubeconfig from server %s: %w", first, err)
	}
	data, err := kc.Marshal()
	if err != nil {
		return fmt.Errorf("kubeconfig from server %s: %w", first, err)
	}
	if err := atomicfile.Write(filepath.Join(b.cfg.StateDir, clusterKubeconfigFile), data, 0o600); err != nil {
		return fmt.Errorf("bmc: save kubeconfig: %w", err)
	}
	j, err := b.jobs.Get(r.ID())
	if err != nil {
		return err
	}
	return b.saveClusterState(ClusterStatus{Nodes: j.Cluster.Nodes, Version: version})
}

// clusterNodesUpdate changes a cluster job's nodes and publishes the job.
// The record gets a new copy, so jobs already handed out never change.
func (b *Board) clusterNodesUpdate(r *jobRun, change func([]ClusterNode)) {
	r.q.update(r.id, false, func(j *Job) {
		c := *j.Cluster
		c.Nodes = slices.Clone(c.Nodes)
		change(c.Nodes)
		j.Cluster = &c
	})
}

func nodeIndex(ns []ClusterNode, name string) int {
	return slices.IndexFunc(ns, func(n ClusterNode) bool { return n.Name == name })
}
