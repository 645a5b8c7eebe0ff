package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/sync/errgroup"
)

// Runner runs a shell command on one node. A non-zero exit is an
// [*ExitError]; other errors mean the command could not run.
type Runner interface {
	Run(ctx context.Context, cmd string, stdin io.Reader) (Result, error)
}

// Dialer returns a Runner for a node. The dialer owns the Runner (e.g.
// [Pool]); callers do not close it.
type Dialer interface {
	Dial(ctx context.Context, n Node) (Runner, error)
}

// Check names one preflight check.
type Check string

// The preflight checks, in the order they are reported.
const (
	CheckReachable    Check = "reachable"
	CheckClock        Check = "clock"
	CheckMemoryCgroup Check = "memory-cgroup"
	CheckHostname     Check = "hostname"
	CheckArch         Check = "arch"
	CheckDisk         Check = "disk"
)

// Checks lists every check in report order.
var Checks = []Check{CheckReachable, CheckClock, CheckMemoryCgroup, CheckHostname, CheckArch, CheckDisk}

// Finding is one check's outcome on one node.
type Finding struct {
	Node   string
	Check  Check
	OK     bool
	Detail string // what was seen, and on failure what to do
}

// Err is nil for a passed check and an [ErrPreflight] naming the node,
// the check and the detail otherwise.
func (f Finding) Err() error {
	if f.OK {
		return nil
	}
	return fmt.Errorf("%w: node %s: %s: %s", ErrPreflight, f.Node, f.Check, f.Detail)
}

// Facts are what preflight learned about a reachable node, for the steps
// that follow (e.g. which k3s binary to install).
type Facts struct {
	Hostname string
	Arch     string // k3s's name: arm64, arm or amd64; "" if unsupported
	FreeDisk int64  // bytes free under /var/lib
}

// Report is the outcome of [Preflight]: every check for every node, in
// node then check order.
type Report struct {
	Findings []Finding
	Facts    map[string]Facts // by node name, reachable nodes only
}

// Err joins the failed findings' errors; nil when every check passed.
func (r Report) Err() error {
	var errs []error
	for _, f := range r.Findings {
		errs = append(errs, f.Err())
	}
	return errors.Join(errs...)
}

// Limits are the thresholds preflight applies.
type Limits struct {
	// MinFreeDisk is the free space, in bytes, required under /var/lib.
	MinFreeDisk int64
}

// DefaultLimits suits a k3s node with its images (~1 GiB unpacked) and
// some room for workloads.
var DefaultLimits = Limits{MinFreeDisk: 2 << 30}

// Preflight dials every node and runs the checks on all of them in
// parallel, then checks that hostnames are unique across the nodes. A
// failed check never stops the others; an unreachable node reports its
// remaining checks as not run.
func Preflight(ctx context.Context, d Dialer, nodes []Node, lim Limits) Report {
	per := make([][]Finding, len(nodes))
	facts := make([]*Facts, len(nodes))
	var g errgroup.Group
	for i, n := range nodes {
		g.Go(func() error {
			per[i], facts[i] = preflightNode(ctx, d, n, lim)
			return nil
		})
	}
	_ = g.Wait()
	checkUniqueHostnames(nodes, per, facts)
	r := Report{Facts: map[string]Facts{}}
	for i, n := range nodes {
		r.Findings = append(r.Findings, per[i]...)
		if facts[i] != nil {
			r.Facts[n.Name] = *facts[i]
		}
	}
	return r
}

// preflightNode runs one node's checks; hostname uniqueness is decided
// later over all nodes, so its finding is left OK with the name seen.
func preflightNode(ctx context.Context, d Dialer, n Node, lim Limits) ([]Finding, *Facts) {
	out := make([]Finding, 0, len(Checks))
	add := func(c Check, ok bool, detail string) {
		out = append(out, Finding{Node: n.Name, Check: c, OK: ok, Detail: detail})
	}
	r, err := d.Dial(ctx, n)
	if err != nil {
		add(CheckReachable, false, err.Error())
		for _, c := range Checks[1:] {
			add(c, false, "not checked: node unreachable")
		}
		return out, nil
	}
	add(CheckReachable, true, n.Addr)
	var f Facts
	ok, detail := checkClock(ctx, r)
	add(CheckClock, ok, detail)
	ok, detail = checkMemoryCgroup(ctx, r)
	add(CheckMemoryCgroup, ok, detail)
	f.Hostname, err = firstLine(ctx, r, CmdHostname)
	switch {
	case err != nil:
		add(CheckHostname, false, err.Error())
	case f.Hostname == "":
		add(CheckHostname, false, "empty hostname; give the node a unique hostname")
	default:
		add(CheckHostname, true, f.Hostname)
	}
	f.Arch, ok, detail = checkArch(ctx, r)
	add(CheckArch, ok, detail)
	f.FreeDisk, ok, detail = checkDisk(ctx, r, lim.MinFreeDisk)
	add(CheckDisk, ok, detail)
	return out, &f
}

// checkUniqueHostnames fails the hostname check of every node sharing a
// hostname with another: k3s refuses two nodes of the same name.
func checkUniqueHostnames(nodes []Node, per [][]Finding, facts []*Facts) {
	byName := map[string][]string{}
	for i, f := range facts {
		if f != nil && f.Hostname != "" {
			byName[f.Hostname] = append(byName[f.Hostname], nodes[i].Name)
		}
	}
	for i, f := range facts {
		if f == nil || len(byName[f.Hostname]) < 2 {
			continue
		}
		var others []string
		for _, o := range byName[f.Hostname] {
			if o != nodes[i].Name {
				others = append(others, o)
			}
		}
		for j := range per[i] {
			if per[i][j].Check == CheckHostname {
				per[i][j].OK = false
				per[i][j].Detail = fmt.Sprintf("hostname %q is also node %s's; k3s needs unique hostnames",
					f.Hostname, strings.Join(others, ", "))
			}
		}
	}
}

// firstLine runs cmd and returns its first output line, trimmed.
func firstLine(ctx context.Context, r Runner, cmd string) (string, error) {
	res, err := r.Run(ctx, cmd, nil)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(res.Stdout), "\n")
	return strings.TrimSpace(line), nil
}
