package clustertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
)

// Answer is a fake node's reply to one command.
type Answer struct {
	Stdout string
	Exit   int   // non-zero: Run returns a *cluster.ExitError
	Err    error // the command could not run at all
}

// Runner is a fake node answering commands from a table. A command missing
// from the table exits 127, as a shell does for an unknown command.
type Runner struct {
	Name    string
	Answers map[string]Answer

	mu  sync.Mutex
	ran []string
}

var _ cluster.Runner = (*Runner)(nil)

// Run implements cluster.Runner.
func (r *Runner) Run(ctx context.Context, cmd string, _ io.Reader) (cluster.Result, error) {
	r.mu.Lock()
	r.ran = append(r.ran, cmd)
	r.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return cluster.Result{}, err
	}
	a, ok := r.Answers[cmd]
	if !ok {
		a = Answer{Exit: 127}
	}
	if a.Err != nil {
		return cluster.Result{}, a.Err
	}
	res := cluster.Result{Stdout: []byte(a.Stdout), ExitStatus: a.Exit}
	if a.Exit != 0 {
		return res, &cluster.ExitError{Node: r.Name, Cmd: cmd, Status: a.Exit}
	}
	return res, nil
}

// Ran returns the commands run so far, in order.
func (r *Runner) Ran() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ran...)
}

// Dialer hands out fake runners by node name; a node missing from Nodes
// is unreachable.
type Dialer struct {
	Nodes map[string]*Runner
}

var _ cluster.Dialer = (*Dialer)(nil)

// ErrUnreachable is what Dial returns for a node not in Nodes.
var ErrUnreachable = errors.New("connection refused")

// Dial implements cluster.Dialer.
func (d *Dialer) Dial(_ context.Context, n cluster.Node) (cluster.Runner, error) {
	r, ok := d.Nodes[n.Name]
	if !ok {
		return nil, fmt.Errorf("node %s: connect: %w", n, ErrUnreachable)
	}
	return r, nil
}
