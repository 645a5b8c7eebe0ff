package cluster_test

import (
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/bmc/cluster/clustertest"
)

func TestPoolKeepsOneConnectionPerNode(t *testing.T) {
	t.Parallel()
	s := clustertest.StartSSHD(t)
	p := cluster.NewPool(config(s))
	t.Cleanup(func() { _ = p.Close() })

	a, err := p.Conn(t.Context(), node(s))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Conn(t.Context(), node(s))
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("second Conn dialled again")
	}
	_ = a.Close()
	c, err := p.Conn(t.Context(), node(s))
	if err != nil {
		t.Fatal(err)
	}
	if c == a {
		t.Error("closed connection handed out")
	}
	if _, err := c.Run(t.Context(), "true", nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
}

// The preflight commands run through a real login shell on this host and
// read what the host's own files say.
func TestPreflightOverRealSSHD(t *testing.T) {
	t.Parallel()
	s := clustertest.StartSSHD(t)
	p := cluster.NewPool(config(s))
	t.Cleanup(func() { _ = p.Close() })

	r := cluster.Preflight(t.Context(), p, []cluster.Node{node(s)}, cluster.Limits{MinFreeDisk: 1})
	for _, f := range r.Findings {
		t.Logf("%s %s ok=%v %s", f.Node, f.Check, f.OK, f.Detail)
	}
	host, _ := os.Hostname()
	facts := r.Facts["node1"]
	if facts.Hostname != host {
		t.Errorf("hostname %q, want %q", facts.Hostname, host)
	}
	if want := map[string]string{"arm64": "arm64", "arm": "arm", "amd64": "amd64"}[runtime.GOARCH]; facts.Arch != want {
		t.Errorf("arch %q, want %q", facts.Arch, want)
	}
	if facts.FreeDisk <= 0 {
		t.Errorf("free disk %d", facts.FreeDisk)
	}
	for _, c := range []cluster.Check{cluster.CheckReachable, cluster.CheckHostname, cluster.CheckArch, cluster.CheckDisk} {
		if f := find(t, r, "node1", c); !f.OK {
			t.Errorf("%s failed: %s", c, f.Detail)
		}
	}
	want, src := hostMemoryCgroup(t)
	if f := find(t, r, "node1", cluster.CheckMemoryCgroup); f.OK != want {
		t.Errorf("memory cgroup ok=%v (%s), host's %q says %v", f.OK, f.Detail, src, want)
	}
}

// hostMemoryCgroup reads this host's memory cgroup state directly.
func hostMemoryCgroup(t *testing.T) (bool, string) {
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return slices.Contains(strings.Fields(string(b)), "memory"), "/sys/fs/cgroup/cgroup.controllers"
	}
	b, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "memory" {
			return f[3] == "1", "/proc/cgroups"
		}
	}
	return false, "/proc/cgroups"
}
