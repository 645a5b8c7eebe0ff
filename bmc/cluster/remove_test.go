package cluster_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/hal/sim/simssh"
)

func TestRemoveCommands(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, node string
		timeout    time.Duration
		drain, del string
		errPart    string
	}{
		{name: "hostname", node: "node2", timeout: 2 * time.Minute,
			drain: "k3s kubectl drain --ignore-daemonsets --delete-emptydir-data --timeout 2m0s node2", del: "k3s kubectl delete node node2"},
		{name: "dotted name", node: "pi-4.lan", timeout: 90 * time.Second,
			drain: "k3s kubectl drain --ignore-daemonsets --delete-emptydir-data --timeout 1m30s pi-4.lan", del: "k3s kubectl delete node pi-4.lan"},
		{name: "shell in the name", node: "node2;reboot", timeout: time.Minute, errPart: "not a Kubernetes node name"},
		{name: "upper case", node: "Node2", timeout: time.Minute, errPart: "not a Kubernetes node name"},
		{name: "empty", node: "", timeout: time.Minute, errPart: "not a Kubernetes node name"},
		{name: "no timeout", node: "node2", errPart: "want a positive duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			drain, err := cluster.DrainCommand(tc.node, tc.timeout)
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("err %v, want %q", err, tc.errPart)
				}
				return
			}
			if err != nil || drain != tc.drain {
				t.Errorf("drain %q, %v; want %q", drain, err, tc.drain)
			}
			del, err := cluster.DeleteNodeCommand(tc.node)
			if err != nil || del != tc.del {
				t.Errorf("delete %q, %v; want %q", del, err, tc.del)
			}
		})
	}
	if cluster.UninstallCommand(cluster.RoleServer) != cluster.CmdUninstallServer || cluster.UninstallCommand(cluster.RoleAgent) != cluster.CmdUninstallAgent {
		t.Error("uninstall scripts by role")
	}
}

// observed is an Observer that remembers what it heard.
type observed struct {
	mu    sync.Mutex
	steps []string
	doing map[string][]string
	done  map[string]cluster.Action
}

func newObserved() *observed {
	return &observed{doing: map[string][]string{}, done: map[string]cluster.Action{}}
}

func (r *observed) observer() cluster.Observer {
	return cluster.Observer{
		Step: func(s string) { r.mu.Lock(); r.steps = append(r.steps, s); r.mu.Unlock() },
		Doing: func(n, what string) {
			r.mu.Lock()
			r.doing[n] = append(r.doing[n], what)
			r.mu.Unlock()
		},
		Done: func(o cluster.NodeOutcome) { r.mu.Lock(); r.done[o.Node] = o.Action; r.mu.Unlock() },
	}
}

// TestLifecycleOnSimulatedNodes: over real SSH to simulated nodes, an
// install reports its steps and each node's progress; an agent is
// removed (drained and deleted on the server, uninstalled) and removed
// again (nothing left to do); then Down takes the rest, agents first.
func TestLifecycleOnSimulatedNodes(t *testing.T) {
	t.Parallel()
	signer := bmcdSigner(t)
	w := simssh.NewK3s()
	var nodes []cluster.Node
	for i, name := range []string{"node1", "node2", "node3"} {
		nodes = append(nodes, simK3sNode(t, w, "127.0.7."+string(rune('1'+i)), name, signer))
	}
	pool := cluster.NewPool(cluster.Config{Signer: signer})
	t.Cleanup(func() { pool.Close() })
	rec := newObserved()
	spec := cluster.InstallSpec{Servers: nodes[:1], Agents: nodes[1:], Token: cluster.NewToken(), ReadyInterval: time.Millisecond, Observer: rec.observer()}
	if _, err := cluster.Install(t.Context(), pool, spec); err != nil {
		t.Fatal(err)
	}
	if want := []string{cluster.StepInstallServer, cluster.StepJoin, cluster.StepReady}; !slices.Equal(rec.steps, want) {
		t.Errorf("install steps %v, want %v", rec.steps, want)
	}
	if got := rec.doing["node2"]; len(got) == 0 || !strings.HasPrefix(got[len(got)-1], "installing k3s as agent, joining https://127.0.7.1:6443") {
		t.Errorf("node2's progress %q", got)
	}
	if rec.done["node3"] != cluster.ActionInstalled {
		t.Errorf("node3 done %q", rec.done["node3"])
	}

	server, err := pool.Dial(t.Context(), nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	rec = newObserved()
	rm := cluster.RemoveSpec{Node: nodes[2], Role: cluster.RoleAgent, Via: &nodes[0], Observer: rec.observer()}
	out, err := cluster.Remove(t.Context(), pool, rm)
	if err != nil || out.Action != cluster.ActionRemoved {
		t.Fatalf("remove: %+v %v", out, err)
	}
	if want := []string{cluster.StepDrain, cluster.StepUninstall}; !slices.Equal(rec.steps, want) {
		t.Errorf("remove steps %v, want %v", rec.steps, want)
	}
	if missing, err := cluster.NotReady(t.Context(), server, []string{"node1", "node2", "node3"}); err != nil || !slices.Equal(missing, []string{"node3"}) {
		t.Errorf("after remove, not listed: %v %v", missing, err)
	}
	r3, err := pool.Dial(t.Context(), nodes[2])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r3.Run(t.Context(), cluster.CmdProbeAgent, nil); err == nil {
		t.Error("k3s-agent still runs on the removed node")
	}
	out, err = cluster.Remove(t.Context(), pool, rm)
	if err != nil || out.Action != cluster.ActionAbsent {
		t.Errorf("second remove: %+v %v, want nothing to do", out, err)
	}
	// node2 runs as an agent: removing it as a server is refused.
	if out, err := cluster.Remove(t.Context(), pool, cluster.RemoveSpec{Node: nodes[1], Role: cluster.RoleServer}); !errors.Is(err, cluster.ErrWrongRole) || out.Action != cluster.ActionFailed {
		t.Errorf("remove at the wrong role: %+v %v", out, err)
	}

	rec = newObserved()
	outs, err := cluster.Down(t.Context(), pool, cluster.DownSpec{Servers: nodes[:1], Agents: nodes[1:], Observer: rec.observer()})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{cluster.StepUninstallAgents, cluster.StepUninstallServers}; !slices.Equal(rec.steps, want) {
		t.Errorf("down steps %v, want %v", rec.steps, want)
	}
	got := map[string]cluster.Action{}
	for _, o := range outs {
		got[o.Node] = o.Action
	}
	want := map[string]cluster.Action{"node1": cluster.ActionRemoved, "node2": cluster.ActionRemoved, "node3": cluster.ActionAbsent}
	for n, a := range want {
		if got[n] != a {
			t.Errorf("down %s: %q, want %q", n, got[n], a)
		}
	}
	if _, err := server.Run(t.Context(), cluster.CmdProbeServer, nil); err == nil {
		t.Error("k3s still runs on the server after down")
	}
}

// TestDownKeepsServersWhenAnAgentFails: an unreachable agent stops the
// down before any server is touched.
func TestDownKeepsServersWhenAnAgentFails(t *testing.T) {
	t.Parallel()
	signer := bmcdSigner(t)
	w := simssh.NewK3s()
	server := simK3sNode(t, w, "127.0.7.11", "node11", signer)
	gone, _ := silentListener(t)
	agent := cluster.Node{Name: "node12", Addr: gone, HostKey: server.HostKey}
	pool := cluster.NewPool(cluster.Config{Signer: signer, HandshakeTimeout: 3 * time.Second})
	t.Cleanup(func() { pool.Close() })
	if _, err := cluster.Install(t.Context(), pool, cluster.InstallSpec{Servers: []cluster.Node{server}, Token: cluster.NewToken(), ReadyInterval: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	outs, err := cluster.Down(ctx, pool, cluster.DownSpec{Servers: []cluster.Node{server}, Agents: []cluster.Node{agent}})
	if err == nil || !strings.Contains(err.Error(), "servers left running") {
		t.Fatalf("err %v", err)
	}
	got := map[string]cluster.Action{}
	for _, o := range outs {
		got[o.Node] = o.Action
	}
	if got["node12"] != cluster.ActionFailed || got["node11"] != cluster.ActionNotRun {
		t.Errorf("outcomes %v", got)
	}
	r, err := pool.Dial(t.Context(), server)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(t.Context(), cluster.CmdProbeServer, nil); err != nil {
		t.Errorf("the server was uninstalled although an agent failed: %v", err)
	}
}
