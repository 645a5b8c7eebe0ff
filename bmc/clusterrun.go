package bmc

import (
	"context"
	"errors"
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
	cnodes, d, closeDialer, err := b.clusterDialer(nodes)
	if err != nil {
		return err
	}
	defer closeDialer()
	var spec cluster.InstallSpec
	for i, n := range nodes {
		if n.Role == string(cluster.RoleServer) {
			spec.Servers = append(spec.Servers, cnodes[i])
		} else {
			spec.Agents = append(spec.Agents, cnodes[i])
		}
	}

	r.step(ClusterStepPreflight)
	rep := cluster.Preflight(ctx, d, cnodes, cluster.DefaultLimits)
	b.clusterNodesUpdate(r, true, func(ns []ClusterNode) {
		for name, f := range rep.Facts {
			if i := nodeIndex(ns, name); i >= 0 && f.Hostname != "" {
				ns[i].Hostname = f.Hostname
			}
		}
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

	spec.Token, spec.Version, spec.Clock, spec.Logger = token, version, b.clock, b.log
	spec.Observer = b.clusterObserver(ctx, r)
	spec.Hostnames, spec.Arch, spec.Airgap = map[string]string{}, map[string]string{}, airgap
	for name, f := range rep.Facts {
		spec.Hostnames[name], spec.Arch[name] = f.Hostname, f.Arch
	}
	_, err = cluster.Install(ctx, d, spec)
	if err == nil {
		b.clusterNodesUpdate(r, true, func(ns []ClusterNode) {
			for i := range ns {
				ns[i].Ready, ns[i].Doing = true, ""
			}
		})
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if err != nil {
		return err
	}

	r.step(ClusterStepKubeconfig)
	if err := b.keepKubeconfig(ctx, d, spec.Servers[0]); err != nil {
		return err
	}
	j, err := b.jobs.Get(r.ID())
	if err != nil {
		return err
	}
	return b.saveClusterState(ClusterStatus{Nodes: j.Cluster.Nodes, Version: version, Airgap: airgap != nil})
}

// keepKubeconfig fetches the admin kubeconfig from the server first,
// rewrites it for the workstation and keeps it in the state directory.
func (b *Board) keepKubeconfig(ctx context.Context, d cluster.Dialer, first cluster.Node) error {
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
	return nil
}

// clusterDialer reaches nodes as their accounts with their recorded host
// keys; close ends the job's connections.
func (b *Board) clusterDialer(nodes []ClusterNode) (cnodes []cluster.Node, d cluster.Dialer, close func(), err error) {
	cnodes = make([]cluster.Node, len(nodes))
	users := make(map[string]string, len(nodes))
	for i, n := range nodes {
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(n.HostKey))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("node %s: recorded host key: %w", n.Name, err)
		}
		cnodes[i] = cluster.Node{Name: n.Name, Addr: n.Addr, HostKey: pk}
		users[n.Name] = n.User
	}
	if b.cfg.ClusterDialer != nil {
		d = b.cfg.ClusterDialer(users)
	} else {
		d = newUserDialer(b.clusterKey, users)
	}
	close = func() {}
	if c, ok := d.(io.Closer); ok {
		close = func() { _ = c.Close() }
	}
	return cnodes, d, close, nil
}

// clusterObserver shows a cluster operation on the job: its steps, what
// it is doing on each node and each node's outcome, published (the
// events stream carries them) and kept in the history at once, so a
// bmcd that stops halfway knows which nodes were done and which were
// busy.
//
// A node whose part ends because the job was stopped (bmcd shutting
// down) or cancelled reads interrupted or cancelled, with what it was
// doing, rather than failed: its real state is unknown until a cluster
// job looks again.
func (b *Board) clusterObserver(ctx context.Context, r *jobRun) cluster.Observer {
	return cluster.Observer{
		Step: r.step,
		// Kept too (a few writes per node): after a crash the history
		// says what each node was in the middle of.
		Doing: func(node, what string) {
			b.clusterNodesUpdate(r, true, func(ns []ClusterNode) {
				if i := nodeIndex(ns, node); i >= 0 {
					ns[i].Doing = what
				}
			})
		},
		Done: func(o cluster.NodeOutcome) {
			b.clusterNodesUpdate(r, true, func(ns []ClusterNode) {
				i := nodeIndex(ns, o.Node)
				if i < 0 {
					return
				}
				doing := ns[i].Doing
				ns[i].Action, ns[i].Doing, ns[i].Error = string(o.Action), "", ""
				switch {
				case o.Err == nil:
				case ctx.Err() != nil && errors.Is(context.Cause(ctx), errStopped):
					ns[i].Action, ns[i].Error = ClusterActionInterrupted, "bmcd stopped while "+orStarting(doing)
				case ctx.Err() != nil:
					ns[i].Action, ns[i].Error = "cancelled", "cancelled while "+orStarting(doing)
				default:
					ns[i].Error = o.Err.Error()
				}
			})
		},
	}
}

// orStarting is what a node was doing, or "starting" before anything.
func orStarting(doing string) string {
	if doing == "" {
		return "starting"
	}
	return doing
}

// clusterNodesUpdate changes a cluster job's nodes and publishes the job,
// keeping the history when persist is set. The record gets a new copy,
// so jobs already handed out never change.
func (b *Board) clusterNodesUpdate(r *jobRun, persist bool, change func([]ClusterNode)) {
	r.q.update(r.id, persist, func(j *Job) {
		c := *j.Cluster
		c.Nodes = slices.Clone(c.Nodes)
		change(c.Nodes)
		j.Cluster = &c
	})
}

func nodeIndex(ns []ClusterNode, name string) int {
	return slices.IndexFunc(ns, func(n ClusterNode) bool { return n.Name == name })
}
