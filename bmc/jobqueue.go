package bmc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// JobQueue runs jobs and keeps their history in the state directory.
// It does not know what a job does: a job's run function does the work
// and reports its steps and progress; the queue admits jobs (one at a
// time, or in parallel), records their states, persists the history,
// publishes every change and closes each job's done channel when the
// job is final. Flashing is one kind of job. It is safe for concurrent
// use.
type JobQueue struct {
	dir     string
	clock   clockwork.Clock
	log     *slog.Logger
	publish func(Job)
	// admit holds a token per running job: capacity 1 when jobs run one
	// at a time.
	admit chan struct{}
	wg    sync.WaitGroup

	mu   sync.Mutex // guards the fields below
	jobs []Job      // oldest first
	live map[int64]*liveJob
	next int64
}

// liveJob is what the queue holds for a job that is not final yet.
type liveJob struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// errStopped is the cause of the jobs cancelled by JobQueue.stop.
var errStopped = errors.New("bmcd stopped")

// closedChan is the done channel of jobs already final.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// openJobQueue loads the job history from dir. Jobs that were live when
// bmcd stopped come back interrupted; their slots, if they were running,
// are returned so the caller can put them back in their known state and
// then call save.
func openJobQueue(dir string, parallel int, clock clockwork.Clock, log *slog.Logger, publish func(Job)) (q *JobQueue, interrupted []int, warning string, err error) {
	jobs, next, interrupted, warning, err := loadJobs(dir, clock.Now().UTC())
	if err != nil {
		return nil, nil, "", err
	}
	q = &JobQueue{
		dir: dir, clock: clock, log: log, publish: publish,
		admit: make(chan struct{}, max(parallel, 1)),
		jobs:  jobs, live: map[int64]*liveJob{}, next: next,
	}
	return q, interrupted, warning, nil
}

// save writes the history.
func (q *JobQueue) save() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.saveLocked()
}

func (q *JobQueue) saveLocked() error { return saveJobs(q.dir, q.jobs, q.next) }

// List returns the job history, newest first.
func (q *JobQueue) List() []Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := slices.Clone(q.jobs)
	slices.Reverse(out)
	return out
}

// Get returns one job.
func (q *JobQueue) Get(id int64) (Job, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if j := q.findLocked(id); j != nil {
		return *j, nil
	}
	return Job{}, fmt.Errorf("job %d: %w", id, ErrNoJob)
}

// Cancel cancels a queued or running job. The job ends cancelled once
// its run function returns (a flash job: once its slot is back in its
// known state); cancelling a final job is not an error and changes
// nothing.
func (q *JobQueue) Cancel(id int64) (Job, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	j := q.findLocked(id)
	if j == nil {
		return Job{}, fmt.Errorf("job %d: %w", id, ErrNoJob)
	}
	if l := q.live[id]; l != nil {
		l.cancel(nil)
	}
	return *j, nil
}

// Done returns a channel closed when the job is final (at once for a
// final or unknown job).
func (q *JobQueue) Done(id int64) <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if l := q.live[id]; l != nil {
		return l.done
	}
	return closedChan
}

// Active counts the jobs not yet final.
func (q *JobQueue) Active() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.live)
}

// jobFunc does a job's work. It calls r.start once it holds what it
// needs (the job is then running rather than queued). err is why the
// job failed; cleanupErr why putting things back failed.
type jobFunc func(ctx context.Context, r *jobRun) (err, cleanupErr error)

// jobRun is a running job's handle on its record.
type jobRun struct {
	q  *JobQueue
	id int64
}

// ID is the job's ID.
func (r *jobRun) ID() int64 { return r.id }

// start marks the job running.
func (r *jobRun) start() {
	r.q.update(r.id, true, func(j *Job) { j.State, j.Started = JobRunning, r.q.clock.Now().UTC() })
}

// step records the step the job is in.
func (r *jobRun) step(name string) { r.q.update(r.id, false, func(j *Job) { j.Step = name }) }

// progress records the job's progress.
func (r *jobRun) progress(p FlashProgress) { r.q.update(r.id, false, func(j *Job) { j.Progress = p }) }

// submit queues job (ID, state and creation time are set here) and runs
// run in its own goroutine once admitted. The returned channel is closed
// when the job is final.
func (q *JobQueue) submit(job Job, run jobFunc) (Job, <-chan struct{}, error) {
	ctx, cancel := context.WithCancelCause(context.Background())
	l := &liveJob{cancel: cancel, done: make(chan struct{})}
	q.mu.Lock()
	job.ID, job.State, job.Created = q.next, JobQueued, q.clock.Now().UTC()
	q.next++
	q.jobs = append(q.jobs, job)
	err := q.saveLocked()
	if err != nil {
		q.jobs = q.jobs[:len(q.jobs)-1]
		q.next--
	} else {
		q.live[job.ID] = l
		q.wg.Add(1)
	}
	q.mu.Unlock()
	if err != nil {
		cancel(nil)
		return Job{}, nil, err
	}
	q.publish(job)
	go func() {
		defer q.wg.Done()
		defer cancel(nil)
		q.run(ctx, job.ID, run)
	}()
	return job, l.done, nil
}

// run waits for the job's turn, runs it and records the outcome.
func (q *JobQueue) run(ctx context.Context, id int64, run jobFunc) {
	select {
	case q.admit <- struct{}{}:
		defer func() { <-q.admit }()
	case <-ctx.Done():
	}
	// A job cancelled while queued never starts, even if its turn came
	// at the same moment.
	if err := ctx.Err(); err != nil {
		q.finish(ctx, id, err, nil)
		return
	}
	err, cleanupErr := run(ctx, &jobRun{q: q, id: id})
	q.finish(ctx, id, err, cleanupErr)
}

// update changes a job, persists the history if persist is set (state
// changes, not progress), and publishes the job.
func (q *JobQueue) update(id int64, persist bool, change func(*Job)) {
	q.mu.Lock()
	j := q.findLocked(id)
	if j == nil {
		q.mu.Unlock()
		return
	}
	change(j)
	job := *j
	var err error
	if persist {
		err = q.saveLocked()
	}
	q.mu.Unlock()
	if err != nil {
		q.log.Error("bmc: save job history", "job", id, "err", err)
	}
	q.publish(job)
}

// finish records the job's outcome and closes its done channel.
func (q *JobQueue) finish(ctx context.Context, id int64, err, cleanupErr error) {
	var state JobState
	var step string
	q.update(id, true, func(j *Job) {
		j.Finished = q.clock.Now().UTC()
		switch {
		case err == nil && cleanupErr == nil:
			j.State, j.Step = JobSucceeded, ""
		case err != nil && errors.Is(context.Cause(ctx), errStopped):
			// Said as loadJobs says it of a job bmcd did not get to stop.
			j.State, j.Error = JobInterrupted, fmt.Sprintf("%v while the job was %s", errStopped, j.State)
		case errors.Is(err, context.Canceled):
			j.State, j.Error = JobCancelled, "cancelled"
		default:
			j.State = JobFailed
			if err != nil {
				j.Error = err.Error()
			}
		}
		if cleanupErr != nil {
			j.CleanupError = cleanupErr.Error()
		}
		state, step = j.State, j.Step
	})
	q.mu.Lock()
	if l := q.live[id]; l != nil {
		close(l.done)
		delete(q.live, id)
	}
	q.mu.Unlock()
	if err != nil {
		q.log.Warn("bmc: job "+string(state), "job", id, "step", step, "err", err, "cleanup_err", cleanupErr)
	} else {
		q.log.Info("bmc: job done", "job", id, "cleanup_err", cleanupErr)
	}
}

// stop cancels every live job and waits until all are final: they end
// interrupted once their run functions have put things back.
func (q *JobQueue) stop() {
	q.mu.Lock()
	for _, l := range q.live {
		l.cancel(errStopped)
	}
	q.mu.Unlock()
	q.wg.Wait()
}

func (q *JobQueue) findLocked(id int64) *Job {
	for i := range q.jobs {
		if q.jobs[i].ID == id {
			return &q.jobs[i]
		}
	}
	return nil
}

// progressInterval limits progress events per job.
const progressInterval = 200 * time.Millisecond
