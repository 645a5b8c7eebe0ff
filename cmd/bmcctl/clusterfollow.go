package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
)

// clusterPoll is how often a followed cluster job is also asked for
// directly, in case the event stream misses its end (a stream that
// connects after the job's last event).
const clusterPoll = 2 * time.Second

// runClusterJob queues a cluster job with start, follows it and reports
// it: the shared body of cluster up, add, remove and down.
func (e *env) runClusterJob(ctx context.Context, c *client.Client, start func(context.Context) (apitype.Job, error)) error {
	// The stream is opened before the job is queued, so no event of it
	// is missed.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	events := make(chan apitype.Job, 256)
	go func() {
		_ = c.Events(ctx, func(ev apitype.Event) error {
			if ev.Job != nil && ev.Job.Kind == "cluster" {
				select {
				case events <- *ev.Job:
				case <-ctx.Done():
				}
			}
			return nil
		})
	}()
	job, err := start(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "cluster job %d (%s) queued\n", job.ID, job.ClusterOp)
	job, err = e.followCluster(ctx, c, job, events)
	if err != nil {
		return err
	}
	return e.reportClusterJob(job)
}

// followCluster follows the job on the event stream until it is final,
// printing each step and each node's progress and outcome once.
func (e *env) followCluster(ctx context.Context, c *client.Client, job apitype.Job, events <-chan apitype.Job) (apitype.Job, error) {
	w := clusterWatch{out: e.stderr, id: job.ID, doing: map[string]string{}, action: map[string]string{}}
	if e.jsonOutput() {
		w.out = io.Discard
	}
	w.show(job)
	poll := time.NewTicker(clusterPoll)
	defer poll.Stop()
	for !final(job.State) {
		select {
		case <-ctx.Done():
			return job, ctx.Err()
		case j := <-events:
			if j.ID != job.ID {
				continue
			}
			job = j
		case <-poll.C:
			j, err := c.Job(ctx, job.ID)
			if err != nil {
				return job, err
			}
			job = j
		}
		w.show(job)
	}
	return job, nil
}

// clusterWatch prints what changed in a cluster job since it last looked.
type clusterWatch struct {
	out    io.Writer
	id     int64
	step   string
	doing  map[string]string
	action map[string]string
}

func (w *clusterWatch) show(job apitype.Job) {
	if job.Step != "" && job.Step != w.step && !final(job.State) {
		w.step = job.Step
		fmt.Fprintf(w.out, "cluster job %d: %s\n", w.id, job.Step)
	}
	for _, n := range job.Cluster {
		if n.Doing != "" && n.Doing != w.doing[n.Name] {
			fmt.Fprintf(w.out, "  %s: %s\n", n.Name, n.Doing)
		}
		w.doing[n.Name] = n.Doing
		if n.Action != "" && n.Action != w.action[n.Name] {
			line := n.Action
			if n.Error != "" {
				line += ": " + n.Error
			}
			fmt.Fprintf(w.out, "  %s: %s\n", n.Name, line)
		}
		w.action[n.Name] = n.Action
	}
}

// reportClusterJob prints the per-node results and what the job did as
// a whole; a job that did not succeed is an error.
func (e *env) reportClusterJob(job apitype.Job) error {
	if e.jsonOutput() {
		if err := printJSON(e.stdout, job); err != nil {
			return err
		}
	} else if err := writeClusterNodes(e.stdout, job.Cluster); err != nil {
		return err
	}
	if job.State != "succeeded" {
		msg := fmt.Sprintf("cluster job %d (%s) %s", job.ID, job.ClusterOp, job.State)
		if job.Step != "" {
			msg += " at step " + job.Step
		}
		if job.Error != "" {
			msg += ": " + job.Error
		}
		return fmt.Errorf("%s", msg)
	}
	if !e.jsonOutput() {
		fmt.Fprintln(e.stdout, clusterSummary(job))
	}
	return nil
}

// clusterSummary says in one line what a successful cluster job did.
func clusterSummary(job apitype.Job) string {
	count := map[string]int{}
	for _, n := range job.Cluster {
		count[n.Action]++
	}
	did := func(actions ...string) string {
		var parts []string
		for _, a := range actions {
			if count[a] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", count[a], a))
			}
		}
		return strings.Join(parts, ", ")
	}
	switch job.ClusterOp {
	case "remove":
		name := "the node"
		if len(job.Cluster) == 1 {
			name = job.Cluster[0].Name
		}
		return fmt.Sprintf("%s removed from the cluster (job %d): %s", name, job.ID, did("removed", "not installed"))
	case "down":
		return fmt.Sprintf("cluster down (job %d): %s; bmcd forgot its nodes, kubeconfig and token", job.ID, did("removed", "not installed"))
	}
	if count["installed"] == 0 {
		return fmt.Sprintf("cluster ready (job %d): nothing installed, every node already runs k3s; kubeconfig: bmcctl cluster kubeconfig", job.ID)
	}
	return fmt.Sprintf("cluster ready (job %d): %s; kubeconfig: bmcctl cluster kubeconfig", job.ID, did("installed", "already running"))
}
