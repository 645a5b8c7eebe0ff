package cluster_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/bmc/cluster/clustertest"
)

func TestParseReadyNodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     []string
		wantErr  bool
	}{
		{"all ready", nodesJSON("a", "b"), []string{"a", "b"}, false},
		{"empty list", `{"items":[]}`, nil, false},
		{"not ready", `{"items":[{"metadata":{"name":"a"},"status":{"conditions":[{"type":"Ready","status":"False"}]}}]}`, nil, false},
		{"unknown", `{"items":[{"metadata":{"name":"a"},"status":{"conditions":[{"type":"Ready","status":"Unknown"}]}}]}`, nil, false},
		{"other condition true", `{"items":[{"metadata":{"name":"a"},"status":{"conditions":[{"type":"DiskPressure","status":"True"}]}}]}`, nil, false},
		{"not json", `NAME STATUS`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := cluster.ParseReadyNodes([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// seqRunner answers CmdGetNodes from a sequence, the last answer repeating.
type seqRunner struct {
	mu      sync.Mutex
	answers []clustertest.Answer
	calls   int
}

func (s *seqRunner) Run(_ context.Context, cmd string, _ io.Reader) (cluster.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cmd != cluster.CmdGetNodes {
		return cluster.Result{}, &cluster.ExitError{Node: "s", Cmd: cmd, Status: 127}
	}
	a := s.answers[min(s.calls, len(s.answers)-1)]
	s.calls++
	if a.Err != nil {
		return cluster.Result{}, a.Err
	}
	return cluster.Result{Stdout: []byte(a.Stdout)}, nil
}

func TestWaitReadyRetriesUntilAllReady(t *testing.T) {
	t.Parallel()
	r := &seqRunner{answers: []clustertest.Answer{
		{Err: errors.New("connection refused")}, // API still starting
		{Stdout: nodesJSON("a")},                // b not joined yet
		{Stdout: nodesJSON("a", "b")},
	}}
	clock := clockwork.NewFakeClock()
	done := make(chan error, 1)
	go func() { done <- cluster.WaitReady(t.Context(), clock, r, []string{"a", "b"}, time.Second) }()
	for range 2 {
		if err := clock.BlockUntilContext(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r.calls != 3 {
		t.Errorf("asked %d times, want 3", r.calls)
	}
}

func TestWaitReadyNamesMissingNodesWhenCancelled(t *testing.T) {
	t.Parallel()
	r := &seqRunner{answers: []clustertest.Answer{{Stdout: nodesJSON("a")}}}
	clock := clockwork.NewFakeClock()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cluster.WaitReady(ctx, clock, r, []string{"a", "b"}, time.Second) }()
	if err := clock.BlockUntilContext(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	err := <-done
	if !errors.Is(err, cluster.ErrNotReady) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrNotReady and Canceled", err)
	}
	if want := "[b]"; !strings.Contains(err.Error(), want) {
		t.Errorf("err %q does not name %s", err, want)
	}
}
