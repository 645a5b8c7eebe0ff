package simssh_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turingpi-oss/bmcd/hal/sim/simssh"
)

// TestK3sDrainDeleteUninstall: a server drains and deletes an agent (it
// leaves the node list), the agent's uninstall script removes its k3s;
// drain and delete of a node the cluster does not list fail NotFound, as
// kubectl's do.
func TestK3sDrainDeleteUninstall(t *testing.T) {
	t.Parallel()
	w := simssh.NewK3s()
	srv := startK3s(t, w, "127.0.6.1", "server1")
	agent := startK3s(t, w, "127.0.6.2", "agent1")
	if _, errw, st := srv.run(t, installLine("K3S_TOKEN='"+token+"'", "server")); st != 0 {
		t.Fatalf("server install: %s", errw)
	}
	if _, errw, st := agent.run(t, installLine("K3S_URL='https://127.0.6.1:6443' K3S_TOKEN='"+token+"'", "agent")); st != 0 {
		t.Fatalf("agent install: %s", errw)
	}
	if _, errw, st := agent.run(t, "k3s kubectl drain --ignore-daemonsets --delete-emptydir-data --timeout 2m0s agent1"); st != 1 || !strings.Contains(errw, "localhost:8080 was refused") {
		t.Errorf("drain on an agent: %d %q", st, errw)
	}
	for _, tc := range []struct {
		name, cmd, out, errw string
		status               int
	}{
		{"drain", "k3s kubectl drain --ignore-daemonsets --delete-emptydir-data --timeout 2m0s agent1", "node/agent1 drained", "", 0},
		{"bad timeout", "k3s kubectl drain --timeout soon agent1", "", "invalid argument", 1},
		{"unknown flag", "k3s kubectl drain --wat agent1", "", "unknown flag", 1},
		{"drain unknown node", "k3s kubectl drain --timeout 1s nosuch", "", `(NotFound): nodes "nosuch" not found`, 1},
		{"delete", "k3s kubectl delete node agent1", `node "agent1" deleted`, "", 0},
		{"delete again", "k3s kubectl delete node agent1", "", "(NotFound)", 1},
		{"get nodes still works", "k3s kubectl get nodes -o json", `"server1"`, "", 0},
	} {
		out, errw, st := srv.run(t, tc.cmd)
		if st != tc.status || !strings.Contains(out, tc.out) || !strings.Contains(errw, tc.errw) {
			t.Errorf("%s: status %d, stdout %q, stderr %q", tc.name, st, out, errw)
		}
	}
	if got := readyNodes(t, srv); len(got) != 1 || got["server1"] != "True" {
		t.Errorf("nodes after delete: %v", got)
	}
	if _, errw, st := agent.run(t, "/usr/local/bin/k3s-agent-uninstall.sh"); st != 0 {
		t.Fatalf("agent uninstall: %s", errw)
	}
	if _, _, st := agent.run(t, "systemctl is-active --quiet k3s-agent"); st != 3 {
		t.Errorf("k3s-agent active after uninstall: %d", st)
	}
	if _, _, st := agent.run(t, "/usr/local/bin/k3s-agent-uninstall.sh"); st != 127 {
		t.Errorf("uninstall script left behind: %d", st)
	}
}

// TestInstallHangsUntilKilled: with the fault on, the install never
// returns until its process group is killed from another session (as
// bmcd ends a cancelled command) or the node goes down.
func TestInstallHangsUntilKilled(t *testing.T) {
	t.Parallel()
	w := simssh.NewK3s()
	n := startK3sWith(t, w, "127.0.6.3", "hang1", func(c *simssh.Config) {
		c.InstallHangs = func() bool { return true }
	})
	type result struct {
		errw   string
		status int
	}
	done := make(chan result, 1)
	go func() {
		_, errw, st := n.run(t, "echo bmcd-pgid:$$ >&2; "+installLine("K3S_TOKEN='"+token+"'", "server"))
		done <- result{errw, st}
	}()
	var pgid string
	deadline := time.Now().Add(10 * time.Second)
	for pgid == "" {
		// The shell's pid is the first the server hands out after the
		// client's: try the kill until it finds the hanging group.
		for pid := 1001; pid < 1010 && pgid == ""; pid++ {
			p := strconv.Itoa(pid)
			if _, _, st := n.run(t, "kill -KILL -- -"+p); st == 0 {
				pgid = p
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the hanging install never showed up as a process group")
		}
	}
	select {
	case r := <-done:
		if r.status != 137 || !strings.Contains(r.errw, "bmcd-pgid:"+pgid) {
			t.Errorf("killed install: status %d, stderr %q", r.status, r.errw)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the install did not end when killed")
	}
	if _, _, st := n.run(t, "systemctl is-active --quiet k3s"); st != 3 {
		t.Errorf("a hung install installed k3s: %d", st)
	}
	if _, errw, st := n.run(t, "kill -KILL -- -"+pgid); st != 1 || !strings.Contains(errw, "No such process") {
		t.Errorf("second kill: %d %q", st, errw)
	}
}

// TestInstallHangEndsWithTheNode: a node powered off ends its hanging
// install (Close returns).
func TestInstallHangEndsWithTheNode(t *testing.T) {
	t.Parallel()
	var hangs atomic.Int32
	n := startK3sWith(t, simssh.NewK3s(), "127.0.6.4", "hang2", func(c *simssh.Config) {
		c.InstallHangs = func() bool { hangs.Add(1); return true }
	})
	s, err := n.client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(installLine("K3S_TOKEN='"+token+"'", "server")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for hangs.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("install never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- n.srv.Close() }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for the hanging install forever")
	}
}

// TestK3sKeptAcrossRuns: a board's installs saved by one process are
// there for the next (the nodes' disks outlive bmcd), CA and membership
// included; a re-flashed disk generation is kept too.
func TestK3sKeptAcrossRuns(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "k3s.json")
	w, err := simssh.OpenK3s(path, simssh.K3sConfig{})
	if err != nil {
		t.Fatal(err)
	}
	w.SetDisk("127.0.6.5", "gen1")
	srv := startK3s(t, w, "127.0.6.5", "server5")
	agent := startK3s(t, w, "127.0.6.6", "agent6")
	if _, errw, st := srv.run(t, installLine("K3S_TOKEN='"+token+"'", "server")); st != 0 {
		t.Fatal(errw)
	}
	if _, errw, st := agent.run(t, installLine("K3S_URL='https://127.0.6.5:6443' K3S_TOKEN='"+token+"'", "agent")); st != 0 {
		t.Fatal(errw)
	}
	kc, _, _ := srv.run(t, "cat /etc/rancher/k3s/k3s.yaml")
	srv.srv.Close()
	agent.srv.Close()

	w2, err := simssh.OpenK3s(path, simssh.K3sConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got := w2.Disk("127.0.6.5"); got != "gen1" {
		t.Errorf("disk generation %q after reopen", got)
	}
	srv2 := startK3s(t, w2, "127.0.6.5", "server5")
	startK3s(t, w2, "127.0.6.6", "agent6")
	if _, _, st := srv2.run(t, "systemctl is-active --quiet k3s"); st != 0 {
		t.Errorf("server install forgotten: %d", st)
	}
	if kc2, _, _ := srv2.run(t, "cat /etc/rancher/k3s/k3s.yaml"); kc2 != kc {
		t.Error("the cluster's CA and credentials changed across runs")
	}
	if got := readyNodes(t, srv2); got["server5"] != "True" || got["agent6"] != "True" {
		t.Errorf("members after reopen: %v", got)
	}
	if _, err := simssh.OpenK3s(filepath.Join(t.TempDir(), "none.json"), simssh.K3sConfig{}); err != nil {
		t.Errorf("a missing file is an empty board: %v", err)
	}
}
