package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// ErrLastServer refuses to remove the cluster's last server while agents
// still depend on it: they would be left joined to nothing.
var ErrLastServer = errors.New("the last server cannot be removed while agents remain")

// RemoveSpec is one node to take out of a cluster.
type RemoveSpec struct {
	Node Node
	Role Role
	// Hostname is the name the cluster knows the node by; "" is Node.Name.
	Hostname string
	// Via is a server that stays in the cluster: the node is drained and
	// deleted there. Nil when no server stays (the node is the last one,
	// and no agent is left): it is only uninstalled.
	Via *Node
	// DrainTimeout is 0 for DefaultDrainTimeout.
	DrainTimeout time.Duration
	Logger       *slog.Logger // nil discards
	// Observer hears StepDrain and StepUninstall and the node's progress.
	Observer Observer
}

// Remove takes a node out of the cluster: drained and deleted on a server
// that stays ([DrainCommand], [DeleteNodeCommand]), then k3s uninstalled
// from it ([UninstallCommand]). A node the cluster does not list (a
// removal that stopped halfway) is not an error, nor is a node without
// k3s ([ActionAbsent]): running Remove again finishes the job.
func Remove(ctx context.Context, d Dialer, spec RemoveSpec) (NodeOutcome, error) {
	obs := spec.Observer
	name := spec.Hostname
	if name == "" {
		name = spec.Node.Name
	}
	out := NodeOutcome{Node: spec.Node.Name, Role: spec.Role, Action: ActionFailed}
	fail := func(err error) (NodeOutcome, error) {
		out.Err = err
		return obs.done(out), err
	}
	if spec.Via != nil {
		timeout := spec.DrainTimeout
		if timeout == 0 {
			timeout = DefaultDrainTimeout
		}
		drain, err := DrainCommand(name, timeout)
		if err != nil {
			return fail(err)
		}
		del, err := DeleteNodeCommand(name)
		if err != nil {
			return fail(err)
		}
		obs.step(StepDrain)
		via, err := d.Dial(ctx, *spec.Via)
		if err != nil {
			return fail(fmt.Errorf("drain %s on server %s: %w", name, spec.Via.Name, err))
		}
		obs.doing(spec.Node.Name, "draining on "+spec.Via.Name)
		if err := runTolerantOfNotFound(ctx, via, drain); err != nil {
			return fail(fmt.Errorf("drain %s: %w", name, err))
		}
		obs.doing(spec.Node.Name, "deleting the node on "+spec.Via.Name)
		if err := runTolerantOfNotFound(ctx, via, del); err != nil {
			return fail(fmt.Errorf("delete node %s: %w", name, err))
		}
	}
	obs.step(StepUninstall)
	act, err := uninstall(ctx, d, spec.Node, spec.Role, obs)
	out.Action, out.Err = act, err
	if err == nil && spec.Logger != nil {
		spec.Logger.Info("k3s node removed", "node", spec.Node.Name, "action", act)
	}
	return obs.done(out), err
}

// runTolerantOfNotFound runs a kubectl command for which a node the
// cluster does not list is as good as done.
func runTolerantOfNotFound(ctx context.Context, r Runner, cmd string) error {
	_, err := r.Run(ctx, cmd, nil)
	var exit *ExitError
	if errors.As(err, &exit) && strings.Contains(exit.Stderr, "(NotFound)") {
		return nil
	}
	return err
}

// uninstall runs role's uninstall script on n. A missing script (exit
// 127) means k3s is not installed at that role; if it runs at the other
// role the node is refused rather than left half in the cluster.
func uninstall(ctx context.Context, d Dialer, n Node, role Role, obs Observer) (Action, error) {
	obs.doing(n.Name, "connecting")
	r, err := d.Dial(ctx, n)
	if err != nil {
		return ActionFailed, err
	}
	obs.doing(n.Name, "running "+UninstallCommand(role))
	_, err = r.Run(ctx, UninstallCommand(role), nil)
	var exit *ExitError
	switch {
	case err == nil:
		return ActionRemoved, nil
	case !errors.As(err, &exit) || exit.Status != 127:
		return ActionFailed, fmt.Errorf("k3s uninstall as %s: %w", role, err)
	}
	other := RoleAgent
	if role == RoleAgent {
		other = RoleServer
	}
	if _, perr := r.Run(ctx, other.probeCommand(), nil); perr == nil {
		return ActionFailed, fmt.Errorf("%w: node %s runs k3s as %s, not %s", ErrWrongRole, n, other, role)
	}
	return ActionAbsent, nil
}

// DownSpec is a whole cluster to uninstall.
type DownSpec struct {
	Servers, Agents []Node
	Logger          *slog.Logger // nil discards
	// Observer hears StepUninstallAgents, StepUninstallServers and each
	// node's progress and outcome.
	Observer Observer
}

// Down uninstalls k3s from every node: the agents in parallel, then,
// once every agent is done, the servers in parallel. When an agent
// fails the servers are left running ([ActionNotRun]), so no agent is
// stranded without its cluster; running Down again finishes the job
// (nodes already without k3s report [ActionAbsent]).
func Down(ctx context.Context, d Dialer, spec DownSpec) ([]NodeOutcome, error) {
	obs := spec.Observer
	out := make([]NodeOutcome, 0, len(spec.Servers)+len(spec.Agents))
	var mu sync.Mutex
	phase := func(step string, nodes []Node, role Role) error {
		if len(nodes) == 0 {
			return nil
		}
		obs.step(step)
		var g errgroup.Group
		var errs []error
		for _, n := range nodes {
			g.Go(func() error {
				act, err := uninstall(ctx, d, n, role, obs)
				o := obs.done(NodeOutcome{Node: n.Name, Role: role, Action: act, Err: err})
				mu.Lock()
				defer mu.Unlock()
				out = append(out, o)
				if err != nil {
					errs = append(errs, err)
				}
				return nil
			})
		}
		_ = g.Wait()
		return errors.Join(errs...)
	}
	if err := phase(StepUninstallAgents, spec.Agents, RoleAgent); err != nil {
		for _, n := range spec.Servers {
			out = append(out, obs.done(NodeOutcome{Node: n.Name, Role: RoleServer, Action: ActionNotRun}))
		}
		return out, fmt.Errorf("k3s down: servers left running because agents failed: %w", err)
	}
	if err := phase(StepUninstallServers, spec.Servers, RoleServer); err != nil {
		return out, fmt.Errorf("k3s down: %w", err)
	}
	if spec.Logger != nil {
		spec.Logger.Info("k3s cluster removed", "nodes", len(out))
	}
	return out, nil
}
