package cluster_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/bmc/cluster/clustertest"
)

type A = clustertest.Answer

// healthy is a Pi OS Bookworm node: systemd, cgroup v2, aarch64.
func healthy(hostname string) map[string]A {
	return map[string]A{
		cluster.CmdHostname:         {Stdout: hostname + "\n"},
		cluster.CmdArch:             {Stdout: "aarch64\n"},
		cluster.CmdClockTimedatectl: {Stdout: "yes\n"},
		cluster.CmdCgroupV2:         {Stdout: "cpuset cpu io memory hugetlb pids rdma misc\n"},
		cluster.CmdDiskFree: {Stdout: "Filesystem     1024-blocks    Used Available Capacity Mounted on\n" +
			"/dev/mmcblk0p2    30000000 5000000  25000000      17% /\n"},
	}
}

func with(base map[string]A, cmd string, a A) map[string]A {
	out := map[string]A{}
	for k, v := range base {
		out[k] = v
	}
	out[cmd] = a
	return out
}

func without(base map[string]A, cmd string) map[string]A {
	out := with(base, cmd, A{})
	delete(out, cmd)
	return out
}

func TestPreflightOneNode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		answers map[string]A
		check   cluster.Check
		ok      bool
		detail  string // substring of the finding's detail
	}{
		{"clock via timedatectl", healthy("n1"), cluster.CheckClock, true, "timedatectl"},
		{"clock not synced", with(healthy("n1"), cluster.CmdClockTimedatectl, A{Stdout: "no\n"}), cluster.CheckClock, false, "NTPSynchronized=no"},
		{"clock via chrony", with(without(healthy("n1"), cluster.CmdClockTimedatectl), cluster.CmdClockChrony,
			A{Stdout: "Reference ID    : C0A80101 (192.168.1.1)\nLeap status     : Normal\n"}), cluster.CheckClock, true, "chronyc"},
		{"chrony not synced", with(without(healthy("n1"), cluster.CmdClockTimedatectl), cluster.CmdClockChrony,
			A{Stdout: "Leap status     : Not synchronised\n"}), cluster.CheckClock, false, "Not synchronised"},
		{"clock via timesyncd file", with(without(healthy("n1"), cluster.CmdClockTimedatectl), cluster.CmdClockTimesyncd, A{}),
			cluster.CheckClock, true, "timesyncd"},
		{"no time service", with(without(healthy("n1"), cluster.CmdClockTimedatectl), cluster.CmdClockTimesyncd, A{Exit: 1}),
			cluster.CheckClock, false, "no time service"},
		{"clock command cannot run", with(healthy("n1"), cluster.CmdClockTimedatectl, A{Err: errors.New("session refused")}),
			cluster.CheckClock, false, "session refused"},
		{"cgroup v2 memory", healthy("n1"), cluster.CheckMemoryCgroup, true, "cgroup v2"},
		{"cgroup v2 without memory (Pi firmware's cgroup_disable=memory)", with(healthy("n1"), cluster.CmdCgroupV2,
			A{Stdout: "cpuset cpu io pids\n"}), cluster.CheckMemoryCgroup, false, "cgroup_enable=memory"},
		{"cgroup v1 memory enabled", with(with(healthy("n1"), cluster.CmdCgroupV2, A{Exit: 1}), cluster.CmdCgroupV1,
			A{Stdout: "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t2\t1\t1\nmemory\t3\t50\t1\n"}), cluster.CheckMemoryCgroup, true, "cgroup v1"},
		{"cgroup v1 memory disabled", with(with(healthy("n1"), cluster.CmdCgroupV2, A{Exit: 1}), cluster.CmdCgroupV1,
			A{Stdout: "#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t0\t1\t0\n"}), cluster.CheckMemoryCgroup, false, "disabled"},
		{"arch arm64", healthy("n1"), cluster.CheckArch, true, "k3s arm64"},
		{"arch armv7", with(healthy("n1"), cluster.CmdArch, A{Stdout: "armv7l\n"}), cluster.CheckArch, true, "k3s arm"},
		{"arch amd64", with(healthy("n1"), cluster.CmdArch, A{Stdout: "x86_64\n"}), cluster.CheckArch, true, "k3s amd64"},
		{"arch armv6 (Pi 1, Zero) unsupported", with(healthy("n1"), cluster.CmdArch, A{Stdout: "armv6l\n"}), cluster.CheckArch, false, "armv6l"},
		{"disk enough", healthy("n1"), cluster.CheckDisk, true, "23.8 GiB free"},
		{"disk short", with(healthy("n1"), cluster.CmdDiskFree, A{Stdout: "Filesystem 1024-blocks Used Available Capacity Mounted on\n" +
			"/dev/mmcblk0p2 7000000 6500000 500000 93% /\n"}), cluster.CheckDisk, false, "need 2.0 GiB"},
		{"disk output unreadable", with(healthy("n1"), cluster.CmdDiskFree, A{Stdout: "df: /var/lib: No such file\n"}),
			cluster.CheckDisk, false, "cannot read"},
		{"hostname", healthy("n1"), cluster.CheckHostname, true, "n1"},
		{"hostname empty", with(healthy("n1"), cluster.CmdHostname, A{Stdout: "\n"}), cluster.CheckHostname, false, "empty hostname"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := &clustertest.Dialer{Nodes: map[string]*clustertest.Runner{"node1": {Name: "node1", Answers: tc.answers}}}
			r := cluster.Preflight(t.Context(), d, []cluster.Node{{Name: "node1"}}, cluster.DefaultLimits)
			f := find(t, r, "node1", tc.check)
			if f.OK != tc.ok || !strings.Contains(f.Detail, tc.detail) {
				t.Errorf("got ok=%v %q, want ok=%v containing %q", f.OK, f.Detail, tc.ok, tc.detail)
			}
			if (f.Err() == nil) != tc.ok || (!tc.ok && !errors.Is(r.Err(), cluster.ErrPreflight)) {
				t.Errorf("Err() = %v, Report.Err() = %v", f.Err(), r.Err())
			}
		})
	}
}

func TestPreflightAcrossNodes(t *testing.T) {
	t.Parallel()
	d := &clustertest.Dialer{Nodes: map[string]*clustertest.Runner{
		"node1": {Name: "node1", Answers: healthy("raspberrypi")},
		"node2": {Name: "node2", Answers: healthy("raspberrypi")}, // flashed from the same image
		"node3": {Name: "node3", Answers: with(healthy("pi3"), cluster.CmdArch, A{Stdout: "armv7l\n"})},
	}}
	nodes := []cluster.Node{{Name: "node1"}, {Name: "node2"}, {Name: "node3"}, {Name: "node4", Addr: "192.168.1.54:22"}}
	r := cluster.Preflight(t.Context(), d, nodes, cluster.DefaultLimits)

	if got, want := len(r.Findings), len(nodes)*len(cluster.Checks); got != want {
		t.Fatalf("%d findings, want one per node and check (%d)", got, want)
	}
	for i, f := range r.Findings {
		n, c := nodes[i/len(cluster.Checks)].Name, cluster.Checks[i%len(cluster.Checks)]
		if f.Node != n || f.Check != c {
			t.Errorf("finding %d is %s/%s, want %s/%s", i, f.Node, f.Check, n, c)
		}
	}
	if f := find(t, r, "node1", cluster.CheckHostname); f.OK || !strings.Contains(f.Detail, "node node2") {
		t.Errorf("node1 hostname: %+v, want a failure naming node2", f)
	}
	if f := find(t, r, "node2", cluster.CheckHostname); f.OK || !strings.Contains(f.Detail, "node node1") {
		t.Errorf("node2 hostname: %+v, want a failure naming node1", f)
	}
	if f := find(t, r, "node3", cluster.CheckHostname); !f.OK {
		t.Errorf("node3 hostname: %+v", f)
	}
	if f := find(t, r, "node4", cluster.CheckReachable); f.OK || !strings.Contains(f.Detail, "connection refused") {
		t.Errorf("node4 reachable: %+v", f)
	}
	if f := find(t, r, "node4", cluster.CheckDisk); f.OK || !strings.Contains(f.Detail, "unreachable") {
		t.Errorf("node4 disk: %+v", f)
	}
	if got := r.Facts["node3"]; got.Arch != "arm" || got.Hostname != "pi3" || got.FreeDisk != 25000000<<10 {
		t.Errorf("node3 facts %+v", got)
	}
	if _, ok := r.Facts["node4"]; ok {
		t.Error("facts for an unreachable node")
	}
	err := r.Err()
	for _, want := range []string{"node1: hostname", "node2: hostname", "node4: reachable"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("report error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "node3") {
		t.Errorf("report error blames healthy node3:\n%v", err)
	}
}

// Every command preflight runs is in the published table, so a simulated
// node that answers the table answers preflight.
func TestPreflightRunsOnlyTableCommands(t *testing.T) {
	t.Parallel()
	table := map[string]bool{}
	for _, c := range cluster.PreflightCommands {
		table[c] = true
	}
	for name, answers := range map[string]map[string]A{
		"systemd":     healthy("n1"),
		"fallbacks":   with(without(healthy("n1"), cluster.CmdClockTimedatectl), cluster.CmdCgroupV2, A{Exit: 1}),
		"no services": without(without(healthy("n1"), cluster.CmdClockTimedatectl), cluster.CmdCgroupV2),
	} {
		r := &clustertest.Runner{Name: "n1", Answers: answers}
		d := &clustertest.Dialer{Nodes: map[string]*clustertest.Runner{"n1": r}}
		cluster.Preflight(t.Context(), d, []cluster.Node{{Name: "n1"}}, cluster.DefaultLimits)
		for _, c := range r.Ran() {
			if !table[c] {
				t.Errorf("%s: ran %q, not in PreflightCommands", name, c)
			}
		}
	}
}

func find(t *testing.T, r cluster.Report, node string, c cluster.Check) cluster.Finding {
	t.Helper()
	for _, f := range r.Findings {
		if f.Node == node && f.Check == c {
			return f
		}
	}
	t.Fatalf("no %s finding for %s in %+v", c, node, r.Findings)
	return cluster.Finding{}
}
