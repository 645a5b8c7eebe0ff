package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jonboulle/clockwork"
)

// ErrNotReady reports nodes that did not become Ready.
var ErrNotReady = errors.New("nodes not ready")

// nodeList is the part of `kubectl get nodes -o json` readiness needs.
type nodeList struct {
	Items []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Status struct {
			Conditions []struct {
				Type   string `json:"type"`
				Status string `json:"status"`
			} `json:"conditions"`
		} `json:"status"`
	} `json:"items"`
}

// ParseReadyNodes returns the names of the Ready nodes in the output of
// [CmdGetNodes].
func ParseReadyNodes(out []byte) ([]string, error) {
	var l nodeList
	if err := json.Unmarshal(out, &l); err != nil {
		return nil, fmt.Errorf("parse node list: %w", err)
	}
	var ready []string
	for _, it := range l.Items {
		for _, c := range it.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" {
				ready = append(ready, it.Metadata.Name)
			}
		}
	}
	return ready, nil
}

// NotReady asks the server r which of want (Kubernetes node names, i.e.
// hostnames) are not Ready yet, missing ones included.
func NotReady(ctx context.Context, r Runner, want []string) ([]string, error) {
	res, err := r.Run(ctx, CmdGetNodes, nil)
	if err != nil {
		return nil, err
	}
	ready, err := ParseReadyNodes(res.Stdout)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, n := range want {
		if !slices.Contains(ready, n) {
			missing = append(missing, n)
		}
	}
	return missing, nil
}

// WaitReady asks the server r every interval until all of want are
// Ready. A failing query (the API still starting) is retried; when ctx
// ends, the error names the nodes still not Ready and the last failure.
func WaitReady(ctx context.Context, clock clockwork.Clock, r Runner, want []string, interval time.Duration) error {
	for {
		missing, err := NotReady(ctx, r, want)
		if err == nil && len(missing) == 0 {
			return nil
		}
		t := clock.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			if err != nil {
				return fmt.Errorf("%w: %w (last query: %w)", ErrNotReady, ctx.Err(), err)
			}
			return fmt.Errorf("%w: %v: %w", ErrNotReady, missing, ctx.Err())
		case <-t.Chan():
		}
	}
}
