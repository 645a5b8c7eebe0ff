package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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
	// OneAtATime joins every node in turn, agents after the servers,
	// instead of agents in parallel: for a network or a first server too
	// weak for several joins at once, and the baseline the bootstrap
	// benchmark compares against.
	OneAtATime bool
	// Airgap, when set, holds the air-gap files ([AirgapBinary],
	// [AirgapImages], [AirgapScript]): they are uploaded to each node and
	// the install runs without downloading anything. Nil installs
	// online through [K3sInstallScriptURL].
	Airgap fs.FS
	// Arch maps node name to its k3s architecture (preflight's
	// [Facts.Arch]); the air-gap install picks each node's files by it.
	Arch map[string]string
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
	ActionNotRun    Action = "not run" // an earlier step failed
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
// servers join it one at a time while all agents join it in parallel,
// each with K3S_URL and K3S_TOKEN, then it waits until every node is
// Ready. A node where k3s already runs
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

	out := make([]NodeOutcome, 0, len(spec.Servers)+len(spec.Agents))
	for _, n := range spec.Servers {
		out = append(out, NodeOutcome{Node: n.Name, Role: RoleServer, Action: ActionNotRun})
	}
	for _, n := range spec.Agents {
		out = append(out, NodeOutcome{Node: n.Name, Role: RoleAgent, Action: ActionNotRun})
	}
	obs := spec.Observer
	notRun := func() {
		for i := range out[1:] {
			out[1+i] = obs.done(out[1+i])
		}
	}
	obs.step(StepInstallServer)
	if err := spec.checkAirgap(); err != nil {
		out[0] = obs.done(out[0])
		notRun()
		return out, err
	}
	r, act, err := converge(ctx, d, first, RoleServer, spec, "", len(spec.Servers) > 1, log)
	out[0] = obs.done(NodeOutcome{Node: first.Name, Role: RoleServer, Action: act, Err: err})
	if err != nil {
		notRun()
		return out, err
	}
	if len(out) > 1 {
		obs.step(StepJoin)
	}

	// Joining servers go one at a time, each after the one before has
	// come up: embedded etcd adds a joining server as a learner and
	// refuses a second learner until the first is promoted (see the
	// package doc). Agents do not touch etcd and join the first server
	// in parallel with that chain. OneAtATime runs everything in one
	// chain instead.
	var mu sync.Mutex
	var errs []error
	join := func(i int, n Node, role Role) {
		_, act, err := converge(ctx, d, n, role, spec, joinURL, false, log)
		o := obs.done(NodeOutcome{Node: n.Name, Role: role, Action: act, Err: err})
		mu.Lock()
		out[i] = o
		if err != nil {
			errs = append(errs, err)
		}
		mu.Unlock()
	}
	var g errgroup.Group
	g.Go(func() error {
		for i, n := range spec.Servers[1:] {
			join(1+i, n, RoleServer)
		}
		if spec.OneAtATime {
			for i, n := range spec.Agents {
				join(len(spec.Servers)+i, n, RoleAgent)
			}
		}
		return nil
	})
	if !spec.OneAtATime {
		for i, n := range spec.Agents {
			g.Go(func() error { join(len(spec.Servers)+i, n, RoleAgent); return nil })
		}
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
	if err := spec.install(ctx, r, n, role, joinURL, clusterInit, log); err != nil {
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

// install runs the online or the air-gap install of role on n.
func (s InstallSpec) install(ctx context.Context, r Runner, n Node, role Role, joinURL string, clusterInit bool, log *slog.Logger) error {
	if s.Airgap == nil {
		cmd, err := InstallCommand(role, s.Version, s.Token, joinURL, clusterInit)
		if err != nil {
			return err
		}
		log.Info("installing k3s", "node", n.Name, "role", role, "join", joinURL)
		s.Observer.doing(n.Name, installDoing(role, joinURL, clusterInit))
		_, err = r.Run(ctx, cmd, nil)
		return err
	}
	files, err := PickAirgap(s.Airgap, s.Arch[n.Name])
	if err != nil {
		return err
	}
	cmd, err := AirgapInstallCommand(role, s.Token, joinURL, clusterInit)
	if err != nil {
		return err
	}
	log.Info("installing k3s air-gapped", "node", n.Name, "role", role, "join", joinURL, "binary", files.Binary, "images", files.Images)
	s.Observer.doing(n.Name, "uploading "+files.Binary+", then "+installDoing(role, joinURL, clusterInit))
	return airgapInstall(ctx, r, s.Airgap, files, cmd)
}

// checkAirgap makes sure, before anything is installed, that the air-gap
// directory holds the files of every node's architecture.
func (s InstallSpec) checkAirgap() error {
	if s.Airgap == nil {
		return nil
	}
	var errs []error
	for _, n := range append(append([]Node(nil), s.Servers...), s.Agents...) {
		arch := s.Arch[n.Name]
		if arch == "" {
			errs = append(errs, fmt.Errorf("k3s install: node %s: architecture unknown (preflight did not report it)", n))
			continue
		}
		if _, err := PickAirgap(s.Airgap, arch); err != nil {
			errs = append(errs, fmt.Errorf("k3s install: node %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
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
	if s.Airgap != nil && s.Version != "" {
		return errors.New("k3s install: an air-gapped install runs the binary it is given; its version cannot be chosen (drop the version)")
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
