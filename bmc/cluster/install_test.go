package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/bmc/cluster/clustertest"
)

const testToken = "0123456789abcdef0123456789abcdef"

func nodesJSON(ready ...string) string {
	var items []string
	for _, n := range ready {
		items = append(items, fmt.Sprintf(
			`{"metadata":{"name":%q},"status":{"conditions":[{"type":"MemoryPressure","status":"False"},{"type":"Ready","status":"True"}]}}`, n))
	}
	return `{"apiVersion":"v1","kind":"List","items":[` + strings.Join(items, ",") + `]}`
}

func TestInstallCommand(t *testing.T) {
	t.Parallel()
	const script = "curl -sfL https://get.k3s.io | "
	for _, tc := range []struct {
		name        string
		role        cluster.Role
		version     string
		join        string
		clusterInit bool
		want        string
	}{
		{"single server", cluster.RoleServer, "v1.33.1+k3s1", "", false,
			script + "INSTALL_K3S_VERSION='v1.33.1+k3s1' K3S_TOKEN='" + testToken + "' sh -s - server"},
		{"first of several servers", cluster.RoleServer, "v1.33.1+k3s1", "", true,
			script + "INSTALL_K3S_VERSION='v1.33.1+k3s1' K3S_TOKEN='" + testToken + "' sh -s - server --cluster-init"},
		{"joining server", cluster.RoleServer, "", "https://10.0.0.1:6443", false,
			script + "K3S_URL='https://10.0.0.1:6443' K3S_TOKEN='" + testToken + "' sh -s - server"},
		{"agent", cluster.RoleAgent, "v1.34.0-rc1+k3s1", "https://10.0.0.1:6443", false,
			script + "INSTALL_K3S_VERSION='v1.34.0-rc1+k3s1' K3S_URL='https://10.0.0.1:6443' K3S_TOKEN='" + testToken + "' sh -s - agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := cluster.InstallCommand(tc.role, tc.version, testToken, tc.join, tc.clusterInit)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestInstallCommandRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, version, token, join string
		role                       cluster.Role
		clusterInit                bool
	}{
		{"shell in version", "v1.33.1+k3s1'; reboot; '", testToken, "", cluster.RoleServer, false},
		{"short token", "", "abc", "", cluster.RoleServer, false},
		{"upper-case token", "", strings.ToUpper(testToken), "", cluster.RoleServer, false},
		{"agent without server", "", testToken, "", cluster.RoleAgent, false},
		{"agent initialising", "", testToken, "https://a:6443", cluster.RoleAgent, true},
		{"unknown role", "", testToken, "", "worker", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got, err := cluster.InstallCommand(tc.role, tc.version, tc.token, tc.join, tc.clusterInit); err == nil {
				t.Errorf("accepted: %s", got)
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	t.Parallel()
	a, b := cluster.NewToken(), cluster.NewToken()
	if a == b {
		t.Errorf("two tokens equal: %s", a)
	}
	if _, err := cluster.InstallCommand(cluster.RoleServer, "", a, "", false); err != nil {
		t.Errorf("generated token refused: %v", err)
	}
}

// event is one thing a fake node did, in the order the test saw it.
type event struct{ node, what string }

// recorder is a shared log of fake nodes' install starts and ends.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) add(node, what string) {
	r.mu.Lock()
	r.events = append(r.events, event{node, what})
	r.mu.Unlock()
}

// gate models what is true of k3s joins (see the package doc): a
// joining server that starts while another server's join is still under
// way is recorded as a clash (embedded etcd takes one learner at a time);
// agents wait until every agent has started, and a joining server waits
// until then too, so a bootstrap that runs agents one after another, or
// holds them back until the servers are done, never gets past the first.
type gate struct {
	mu            sync.Mutex
	agents        int
	agentsStarted int
	serverJoins   int      // server joins under way
	clashes       []string // server joins started while another ran
	all           chan struct{}
}

func newGate(agents int) *gate {
	g := &gate{agents: agents, all: make(chan struct{})}
	if agents == 0 {
		close(g.all)
	}
	return g
}

// arrive is a join starting; the returned func ends it.
func (g *gate) arrive(ctx context.Context, node string, server bool) (func(), error) {
	g.mu.Lock()
	end := func() {}
	if server {
		g.serverJoins++
		if g.serverJoins > 1 {
			g.clashes = append(g.clashes, node)
		}
		end = func() { g.mu.Lock(); g.serverJoins--; g.mu.Unlock() }
	} else {
		g.agentsStarted++
		if g.agentsStarted == g.agents {
			close(g.all)
		}
	}
	g.mu.Unlock()
	select {
	case <-g.all:
		return end, nil
	case <-ctx.Done():
		end()
		return nil, fmt.Errorf("join waited for the agents to start: %w", ctx.Err())
	}
}

// stepRunner wraps a table runner: install commands are logged, joins
// (K3S_URL set) pass the gate, and a successful install makes the
// node's probe for that role answer "active", as systemd would.
type stepRunner struct {
	*clustertest.Runner
	rec  *recorder
	gate *gate

	mu        sync.Mutex
	installed string // the probe command that now succeeds, or ""
}

func (s *stepRunner) Run(ctx context.Context, cmd string, stdin io.Reader) (cluster.Result, error) {
	s.mu.Lock()
	active := cmd == s.installed
	s.mu.Unlock()
	if active {
		return cluster.Result{}, nil
	}
	if !strings.Contains(cmd, "get.k3s.io") {
		return s.Runner.Run(ctx, cmd, stdin)
	}
	s.rec.add(s.Name, "start")
	defer s.rec.add(s.Name, "end")
	if s.gate != nil && strings.Contains(cmd, "K3S_URL=") {
		end, err := s.gate.arrive(ctx, s.Name, strings.HasSuffix(cmd, " server"))
		if err != nil {
			return cluster.Result{}, err
		}
		defer end()
	}
	res, err := s.Runner.Run(ctx, cmd, stdin)
	if err == nil {
		s.mu.Lock()
		s.installed = cluster.CmdProbeServer
		if strings.HasSuffix(cmd, " agent") {
			s.installed = cluster.CmdProbeAgent
		}
		s.mu.Unlock()
	}
	return res, err
}

type stepDialer map[string]*stepRunner

func (d stepDialer) Dial(_ context.Context, n cluster.Node) (cluster.Runner, error) {
	r, ok := d[n.Name]
	if !ok {
		return nil, clustertest.ErrUnreachable
	}
	return r, nil
}

// fakeCluster builds fresh fake nodes (k3s not running) for servers then
// agents; each install succeeds and the first server reports every
// node Ready.
func fakeCluster(servers, agents int, g *gate) (stepDialer, cluster.InstallSpec, *recorder) {
	rec := &recorder{}
	d := stepDialer{}
	spec := cluster.InstallSpec{Token: testToken, Version: "v1.33.1+k3s1"}
	var names []string
	for i := range servers + agents {
		name := fmt.Sprintf("node%d", i+1)
		names = append(names, name)
		n := cluster.Node{Name: name, Addr: fmt.Sprintf("10.0.0.%d:22", i+1)}
		if i < servers {
			spec.Servers = append(spec.Servers, n)
		} else {
			spec.Agents = append(spec.Agents, n)
		}
		d[name] = &stepRunner{rec: rec, gate: g, Runner: &clustertest.Runner{Name: name, Answers: map[string]clustertest.Answer{
			cluster.CmdProbeServer: {Exit: 3},
			cluster.CmdProbeAgent:  {Exit: 3},
		}}}
	}
	for _, r := range d {
		for _, role := range []cluster.Role{cluster.RoleServer, cluster.RoleAgent} {
			for _, join := range []string{"", "https://10.0.0.1:6443"} {
				for _, init := range []bool{false, true} {
					if cmd, err := cluster.InstallCommand(role, spec.Version, testToken, join, init); err == nil {
						r.Answers[cmd] = clustertest.Answer{}
					}
				}
			}
		}
	}
	d["node1"].Answers[cluster.CmdGetNodes] = clustertest.Answer{Stdout: nodesJSON(names...)}
	return d, spec, rec
}

func mustInstallCommand(t *testing.T, role cluster.Role, join string, init bool) string {
	t.Helper()
	cmd, err := cluster.InstallCommand(role, "v1.33.1+k3s1", testToken, join, init)
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}

func TestInstallHAServersJoinInTurnAgentsInParallel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // guards a hang, not timing
	defer cancel()
	g := newGate(2) // node4, node5 agents; node2, node3 joining servers
	d, spec, rec := fakeCluster(3, 2, g)
	out, err := cluster.Install(ctx, d, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.clashes) > 0 {
		t.Errorf("servers %v joined while another server's join was under way", g.clashes)
	}
	var servers []string
	for _, e := range rec.events {
		if e.what == "start" && (e.node == "node2" || e.node == "node3") {
			servers = append(servers, e.node)
		}
	}
	if !slices.Equal(servers, []string{"node2", "node3"}) {
		t.Errorf("servers joined in order %v, want node2 then node3", servers)
	}
	const url = "https://10.0.0.1:6443"
	want := map[string][]string{
		"node1": {cluster.CmdProbeServer, cluster.CmdProbeAgent, mustInstallCommand(t, cluster.RoleServer, "", true), cluster.CmdGetNodes},
		"node2": {cluster.CmdProbeServer, cluster.CmdProbeAgent, mustInstallCommand(t, cluster.RoleServer, url, false)},
		"node3": {cluster.CmdProbeServer, cluster.CmdProbeAgent, mustInstallCommand(t, cluster.RoleServer, url, false)},
		"node4": {cluster.CmdProbeAgent, cluster.CmdProbeServer, mustInstallCommand(t, cluster.RoleAgent, url, false)},
		"node5": {cluster.CmdProbeAgent, cluster.CmdProbeServer, mustInstallCommand(t, cluster.RoleAgent, url, false)},
	}
	for name, cmds := range want {
		if got := d[name].Ran(); !slices.Equal(got, cmds) {
			t.Errorf("%s ran %q, want %q", name, got, cmds)
		}
	}
	if len(rec.events) < 2 || rec.events[0] != (event{"node1", "start"}) || rec.events[1] != (event{"node1", "end"}) {
		t.Errorf("first server did not install alone first: %v", rec.events)
	}
	for _, o := range out {
		if o.Action != cluster.ActionInstalled || o.Err != nil {
			t.Errorf("outcome %+v, want installed", o)
		}
	}
}

func TestInstallOneAtATime(t *testing.T) {
	t.Parallel()
	d, spec, rec := fakeCluster(2, 2, nil)
	spec.OneAtATime = true
	if _, err := cluster.Install(t.Context(), d, spec); err != nil {
		t.Fatal(err)
	}
	want := []event{{"node1", "start"}, {"node1", "end"}, {"node2", "start"}, {"node2", "end"},
		{"node3", "start"}, {"node3", "end"}, {"node4", "start"}, {"node4", "end"}}
	if !slices.Equal(rec.events, want) {
		t.Errorf("events %v, want %v", rec.events, want)
	}
}

func TestInstallSingleServerHasNoClusterInit(t *testing.T) {
	t.Parallel()
	d, spec, _ := fakeCluster(1, 1, nil)
	if _, err := cluster.Install(t.Context(), d, spec); err != nil {
		t.Fatal(err)
	}
	if got, want := d["node1"].Ran()[2], mustInstallCommand(t, cluster.RoleServer, "", false); got != want {
		t.Errorf("server install %s, want %s", got, want)
	}
}

func TestInstallSkipsNodesAlreadyRunning(t *testing.T) {
	t.Parallel()
	d, spec, rec := fakeCluster(2, 2, nil)
	d["node1"].Answers[cluster.CmdProbeServer] = clustertest.Answer{}
	d["node3"].Answers[cluster.CmdProbeAgent] = clustertest.Answer{}
	out, err := cluster.Install(t.Context(), d, spec)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]cluster.Action{}
	for _, o := range out {
		got[o.Node] = o.Action
	}
	want := map[string]cluster.Action{"node1": cluster.ActionSkipped, "node2": cluster.ActionInstalled,
		"node3": cluster.ActionSkipped, "node4": cluster.ActionInstalled}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("actions %v, want %v", got, want)
	}
	for _, e := range rec.events {
		if e.node == "node1" || e.node == "node3" {
			t.Errorf("installed on %s, which already ran k3s", e.node)
		}
	}
}

func TestInstallFailedJoinDoesNotStopOthers(t *testing.T) {
	t.Parallel()
	d, spec, _ := fakeCluster(1, 3, nil)
	cmd := mustInstallCommand(t, cluster.RoleAgent, "https://10.0.0.1:6443", false)
	d["node3"].Answers[cmd] = clustertest.Answer{Exit: 1}
	out, err := cluster.Install(t.Context(), d, spec)
	var exit *cluster.ExitError
	if !errors.As(err, &exit) || exit.Node != "node3" {
		t.Fatalf("err = %v, want node3's exit", err)
	}
	for _, o := range out {
		wantAct := cluster.ActionInstalled
		if o.Node == "node3" {
			wantAct = cluster.ActionFailed
		}
		if o.Action != wantAct {
			t.Errorf("%s: %s, want %s", o.Node, o.Action, wantAct)
		}
	}
	if slices.Contains(d["node1"].Ran(), cluster.CmdGetNodes) {
		t.Error("waited for readiness after a failed join")
	}
}

func TestInstallFirstServerFailsNothingElseRuns(t *testing.T) {
	t.Parallel()
	d, spec, _ := fakeCluster(2, 1, nil)
	d["node1"].Answers[mustInstallCommand(t, cluster.RoleServer, "", true)] = clustertest.Answer{Exit: 1}
	out, err := cluster.Install(t.Context(), d, spec)
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"node2", "node3"} {
		if ran := d[name].Ran(); len(ran) != 0 {
			t.Errorf("%s ran %q", name, ran)
		}
	}
	if out[1].Action != cluster.ActionNotRun || out[2].Action != cluster.ActionNotRun {
		t.Errorf("outcomes %+v", out)
	}
}

func TestInstallRefusesNodeAtOtherRole(t *testing.T) {
	t.Parallel()
	d, spec, rec := fakeCluster(1, 2, nil)
	d["node2"].Answers[cluster.CmdProbeServer] = clustertest.Answer{} // a server where an agent is wanted
	out, err := cluster.Install(t.Context(), d, spec)
	if !errors.Is(err, cluster.ErrWrongRole) {
		t.Fatalf("err = %v, want ErrWrongRole", err)
	}
	if out[1].Node != "node2" || out[1].Action != cluster.ActionFailed || out[2].Action != cluster.ActionInstalled {
		t.Errorf("outcomes %+v", out)
	}
	for _, e := range rec.events {
		if e.node == "node2" {
			t.Errorf("installed over node2's server")
		}
	}
}

func TestInstallProbeTransportErrorFails(t *testing.T) {
	t.Parallel()
	d, spec, rec := fakeCluster(1, 0, nil)
	d["node1"].Answers[cluster.CmdProbeServer] = clustertest.Answer{Err: cluster.ErrClosed}
	if _, err := cluster.Install(t.Context(), d, spec); !errors.Is(err, cluster.ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
	if len(rec.events) != 0 {
		t.Errorf("installed although the probe could not run: %v", rec.events)
	}
}

func TestInstallRefusesBadSpec(t *testing.T) {
	t.Parallel()
	n := cluster.Node{Name: "n", Addr: "10.0.0.1:22"}
	for _, tc := range []struct {
		name string
		spec cluster.InstallSpec
	}{
		{"no server", cluster.InstallSpec{Agents: []cluster.Node{n}, Token: testToken}},
		{"no token", cluster.InstallSpec{Servers: []cluster.Node{n}}},
		{"bad version", cluster.InstallSpec{Servers: []cluster.Node{n}, Token: testToken, Version: "latest"}},
		{"node twice", cluster.InstallSpec{Servers: []cluster.Node{n}, Agents: []cluster.Node{n}, Token: testToken}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &clustertest.Runner{Name: "n"}
			d := &clustertest.Dialer{Nodes: map[string]*clustertest.Runner{"n": r}}
			if _, err := cluster.Install(t.Context(), d, tc.spec); err == nil {
				t.Error("accepted")
			}
			if ran := r.Ran(); len(ran) != 0 {
				t.Errorf("ran %q", ran)
			}
		})
	}
}
