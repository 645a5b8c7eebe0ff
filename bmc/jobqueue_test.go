package bmc

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestQueue(t *testing.T, parallel int) *JobQueue {
	t.Helper()
	q, interrupted, warning, err := openJobQueue(t.TempDir(), parallel, clockwork.NewFakeClock(), slog.New(slog.DiscardHandler), func(Job) {})
	require.NoError(t, err)
	require.Empty(t, interrupted)
	require.Empty(t, warning)
	return q
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestJobQueueDone: each job's done channel closes when that job is
// final, and only then, without anyone watching the event bus.
func TestJobQueueDone(t *testing.T) {
	t.Parallel()
	q := newTestQueue(t, 2)
	release := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	started := make(chan struct{}, 2)
	submit := func(name string, fail error) (Job, <-chan struct{}) {
		j, done, err := q.submit(Job{Slot: 1, Image: name}, func(ctx context.Context, r *jobRun) (error, error) {
			r.start()
			r.step("wait")
			started <- struct{}{}
			<-release[name]
			return fail, nil
		})
		require.NoError(t, err)
		return j, done
	}
	a, aDone := submit("a", nil)
	b, bDone := submit("b", errors.New("b broke"))
	<-started
	<-started
	assert.Equal(t, 2, q.Active())
	assert.False(t, isClosed(aDone))
	assert.Equal(t, q.Done(a.ID), aDone)

	close(release["b"])
	<-bDone
	assert.False(t, isClosed(aDone), "a is still running")
	got, err := q.Get(b.ID)
	require.NoError(t, err)
	assert.Equal(t, JobFailed, got.State)
	assert.Equal(t, "b broke", got.Error)
	assert.Equal(t, "wait", got.Step, "the failed step stays")

	close(release["a"])
	<-aDone
	got, err = q.Get(a.ID)
	require.NoError(t, err)
	assert.Equal(t, JobSucceeded, got.State)
	assert.Equal(t, 0, q.Active())
	assert.True(t, isClosed(q.Done(a.ID)), "final job: closed at once")
	assert.True(t, isClosed(q.Done(99)), "unknown job: closed at once")
}

// TestJobQueueStop: stop cancels live jobs, queued or running, and
// returns once they are final, each saying what it was doing.
func TestJobQueueStop(t *testing.T) {
	t.Parallel()
	q := newTestQueue(t, 1)
	started := make(chan struct{})
	run := func(ctx context.Context, r *jobRun) (error, error) {
		r.start()
		close(started)
		<-ctx.Done()
		return ctx.Err(), nil
	}
	running, _, err := q.submit(Job{Slot: 1}, run)
	require.NoError(t, err)
	<-started
	queued, _, err := q.submit(Job{Slot: 2}, run) // one at a time: waits
	require.NoError(t, err)
	q.stop()
	for id, want := range map[int64]string{running.ID: "bmcd stopped while the job was running", queued.ID: "bmcd stopped while the job was queued"} {
		j, err := q.Get(id)
		require.NoError(t, err)
		assert.Equal(t, JobInterrupted, j.State)
		assert.Equal(t, want, j.Error)
	}
}
