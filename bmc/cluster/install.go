package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/errgroup"
)

// ErrWrongRole reports a node already running k3s at the other role:
// installing over it would run server and agent side by side.
var ErrWrongRole = errors.New("k3s runs at another role")

// ErrNotInstalled reports an install command that ended well but left no
// k3s running: offline, `curl -sfL … | sh` runs an empty script and
// exits 0 (the shell has no pipefail to notice curl's failure).
var ErrNotInstalled = errors.New("k3s is not running after the install")

// InstallSpec is the cluster [Install] converges to.
type InstallSpec struct {
	// Servers run the control plane; the first initialises the cluster
	// and the others join it (embedded etcd when there are several).
	Servers []Node
	// Agents join the first server.
	Agents []Node
	// Token is the cluster secret ([NewToken]), kept by bmcd.
	Token string
	// Version is the k3s release (v1.33.1+k3s1); "" is the stable channel.
	Version string
	// Hostnames maps node name to the hostname k3s registers it by
	// (preflight's [Facts.Hostname]); a node missing here is expected
	// under its Name.
	Hostnames map[string]string
	// ReadyInterval is how often readiness is asked; 0 is 5s.
	ReadyInterval time.Duration
	Clock         clockwork.Clock // nil is the real clock
	Logger        *slog.Logger    // nil discards
	// Observer hears the steps (StepInstallServer, StepJoin, StepReady)
	// and each node's progress and outcome as they happen.
	Observer Observer
}

// Action is what [Install] did on one node.
type Action string

// The actions of an install.
const (
	ActionInstalled Action = "installed"
	ActionSkipped   Action = "already running" // k3s ran at the wanted role
	ActionFailed    Action = "failed"
	ActionNotRun    Action = "not run" // the first server failed
	// ActionRemoved: k3s was uninstalled ([Remove], [Down]).
	ActionRemoved Action = "removed"
	// ActionAbsent: there was no k3s to remove.
	ActionAbsent Action = "not installed"
)

// NodeOutcome is one node's part of an install.
type NodeOutcome struct {
	Node   string
	Role   Role
	Action Action
	Err    error
}

// Install converges the nodes to a k3s cluster over d: the first server
// installs (with --cluster-init when more servers follow), then the other
// servers and all agents join it in parallel with K3S_URL and K3S_TOKEN,
// then it waits until every node is Ready. A node where k3s already runs
// at its role is left alone, so running Install again installs only what
// is missing. One failed join does not stop the others; the outcomes say
// what happened on each node and the error joins the failures.
func Install(ctx context.Context, d Dialer, spec InstallSpec) ([]NodeOutcome, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	log := spec.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	first := spec.Servers[0]
	host, _, err := net.SplitHostPort(first.Addr)
	if err != nil {
		return nil, fmt.Errorf("k3s install: server %s: %w", first, err)
	}
	joinURL := JoinURL(host)

	type job struct {
		node Node
		role Role
	}
	var joins []job
	for _, n := range spec.Servers[1:] {
		joins = append(joins, job{n, RoleServer})
	}
	for _, n := range spec.Agents {
		joins = append(joins, job{n, RoleAgent})
	}
	out := make([]NodeOutcome, 1+len(joins))

	obs := spec.Observer
	obs.step(StepInstallServer)
	r, act, err := converge(ctx, d, first, RoleServer, spec, "", len(spec.Servers) > 1, log)
	out[0] = obs.done(NodeOutcome{Node: first.Name, Role: RoleServer, Action: act, Err: err})
	if err != nil {
		for i, j := range joins {
			out[i+1] = obs.done(NodeOutcome{Node: j.node.Name, Role: j.role, Action: ActionNotRun})
		}
		return out, err
	}
	if len(joins) > 0 {
		obs.step(StepJoin)
	}

	var g errgroup.Group
	var mu sync.Mutex
	var errs []error
	for i, j := range joins {
		g.Go(func() error {
			_, act, err := converge(ctx, d, j.node, j.role, spec, joinURL, false, log)
			out[i+1] = obs.done(NodeOutcome{Node: j.node.Name, Role: j.role, Action: act, Err: err})
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := errors.Join(errs...); err != nil {
		return out, err
	}

	want := make([]string, 0, len(out))
	for _, n := range append(append([]Node(nil), spec.Servers...), spec.Agents...) {
		want = append(want, spec.hostname(n))
	}
	interval := spec.ReadyInterval
	if interval == 0 {
		interval = 5 * time.Second
	}
	clock := spec.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	obs.step(StepReady)
	obs.doing(first.Name, "waiting until every node is Ready")
	if err := WaitReady(ctx, clock, r, want, interval); err != nil {
		return out, fmt.Errorf("k3s install: server %s: %w", first, err)
	}
	log.Info("k3s cluster ready", "nodes", len(want))
	return out, nil
}

// converge makes k3s run as role on n unless it already does, and returns
// the node's runner.
func converge(ctx context.Context, d Dialer, n Node, role Role, spec InstallSpec, joinURL string, clusterInit bool, log *slog.Logger) (Runner, Action, error) {
	spec.Observer.doing(n.Name, "connecting")
	r, err := d.Dial(ctx, n)
	if err != nil {
		return nil, ActionFailed, err
	}
	spec.Observer.doing(n.Name, "checking whether k3s runs")
	_, err = r.Run(ctx, role.probeCommand(), nil)
	var exit *ExitError
	switch {
	case err == nil:
		log.Info("k3s already running", "node", n.Name, "role", role)
		return r, ActionSkipped, nil
	case !errors.As(err, &exit):
		return nil, ActionFailed, fmt.Errorf("k3s probe: %w", err)
	}
	other := RoleAgent
	if role == RoleAgent {
		other = RoleServer
	}
	_, err = r.Run(ctx, other.probeCommand(), nil)
	switch {
	case err == nil:
		return nil, ActionFailed, fmt.Errorf("%w: node %s runs k3s as %s, wanted %s; remove it from the cluster first", ErrWrongRole, n, other, role)
	case !errors.As(err, &exit):
		return nil, ActionFailed, fmt.Errorf("k3s probe: %w", err)
	}
	cmd, err := InstallCommand(role, spec.Version, spec.Token, joinURL, clusterInit)
	if err != nil {
		return nil, ActionFailed, fmt.Errorf("node %s: %w", n, err)
	}
	log.Info("installing k3s", "node", n.Name, "role", role, "join", joinURL)
	spec.Observer.doing(n.Name, installDoing(role, joinURL, clusterInit))
	if _, err := r.Run(ctx, cmd, nil); err != nil {
		return nil, ActionFailed, fmt.Errorf("k3s install as %s: %w", role, err)
	}
	if _, err := r.Run(ctx, role.probeCommand(), nil); err != nil {
		if errors.As(err, &exit) {
			return nil, ActionFailed, fmt.Errorf("install as %s: %w (can the node reach get.k3s.io? use an air-gapped install if not)", role, ErrNotInstalled)
		}
		return nil, ActionFailed, fmt.Errorf("k3s probe after install: %w", err)
	}
	return r, ActionInstalled, nil
}

func (s InstallSpec) hostname(n Node) string {
	if h := s.Hostnames[n.Name]; h != "" {
		return h
	}
	return n.Name
}

func (s InstallSpec) validate() error {
	if len(s.Servers) == 0 {
		return errors.New("k3s install: no server")
	}
	seen := map[string]bool{}
	for _, n := range append(append([]Node(nil), s.Servers...), s.Agents...) {
		if seen[n.Name] {
			return fmt.Errorf("k3s install: node %s listed twice", n.Name)
		}
		seen[n.Name] = true
	}
	// The command's own checks (token, version) run before anything does.
	_, err := InstallCommand(RoleServer, s.Version, s.Token, "", false)
	return err
}

// installDoing is the progress line of an install.
func installDoing(role Role, joinURL string, clusterInit bool) string {
	switch {
	case joinURL != "":
		return fmt.Sprintf("installing k3s as %s, joining %s", role, joinURL)
	case clusterInit:
		return fmt.Sprintf("installing k3s as %s, initialising the cluster (embedded etcd)", role)
	}
	return fmt.Sprintf("installing k3s as %s", role)
}
