package bmc

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/turingpi-oss/bmcd/hal/atomicfile"
)

// JobState is where a flash job is in its life.
type JobState string

// Job states. Queued and Running are live; the others are final.
const (
	JobQueued    JobState = "queued"
	JobRunning   JobState = "running"
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"
	JobCancelled JobState = "cancelled"
	// JobInterrupted: bmcd stopped (or crashed) while the job was live.
	JobInterrupted JobState = "interrupted"
)

// Final reports whether the state can no longer change.
func (s JobState) Final() bool { return s != JobQueued && s != JobRunning }

// FlashProgress is how far a flash job's write has got.
type FlashProgress struct {
	// Phase is set by the image writer: "open", "upload" or "download"
	// until the first bytes arrive, then "write", "sync", "verify" and
	// "done" (flasher.Phase).
	Phase        string `json:"phase"`
	BytesIn      int64  `json:"bytes_in"`
	BytesWritten int64  `json:"bytes_written"`
	// BytesVerified is how much was read back while verifying.
	BytesVerified int64 `json:"bytes_verified"`
	// Total is the current phase's work, -1 if unknown: the source size
	// while writing, the bytes to read back while verifying, the source
	// bytes consumed once done.
	Total int64         `json:"total"`
	Rate  float64       `json:"rate"` // bytes/s
	ETA   time.Duration `json:"eta"`
}

// FlashOptions modify a flash job.
type FlashOptions struct {
	// PowerOn switches the slot on after a successful flash; otherwise it
	// is left off.
	PowerOn bool `json:"power_on"`
	// Prepare, if set, prepares the node for its first boot once the
	// image is written (step prepare); the job records what was asked
	// after the board's defaults were applied.
	Prepare *Prepare `json:"prepare,omitempty"`
}

// Job is a job as reported and as kept in the job history: a flash job,
// or with Kind JobKindCluster a cluster job.
type Job struct {
	ID int64 `json:"id"`
	// Kind is "" for a flash job (histories from before there were other
	// kinds) or JobKindCluster.
	Kind    string       `json:"kind,omitempty"`
	Slot    int          `json:"slot"`
	Image   string       `json:"image"` // a description of the source
	Options FlashOptions `json:"options"`
	State   JobState     `json:"state"`
	// Step is the step running now, or the one that failed.
	Step string `json:"step,omitempty"`
	// Error says why the job failed; CleanupError why putting the slot
	// back in its known state failed, if it did.
	Error        string        `json:"error,omitempty"`
	CleanupError string        `json:"cleanup_error,omitempty"`
	Progress     FlashProgress `json:"progress"`
	Created      time.Time     `json:"created"`
	Started      time.Time     `json:"started,omitzero"`
	Finished     time.Time     `json:"finished,omitzero"`
	// Cluster is a cluster job's nodes and their progress.
	Cluster *ClusterJob `json:"cluster,omitempty"`
}

const (
	jobsFile = "jobs.json"
	// jobHistory is how many finished jobs are kept.
	jobHistory = 100
)

type persistedJobs struct {
	Version int   `json:"version"`
	NextID  int64 `json:"next_id"`
	Jobs    []Job `json:"jobs"`
}

// loadJobs reads the job history. Jobs that were live when bmcd stopped
// come back as interrupted, with the slots that were running listed so
// the caller can put them back in their known state.
func loadJobs(dir string, now time.Time) (jobs []Job, nextID int64, interruptedSlots []int, warning string, err error) {
	path := filepath.Join(dir, jobsFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 1, nil, "", nil
	}
	if err != nil {
		return nil, 0, nil, "", fmt.Errorf("bmc: read job history: %w", err)
	}
	var p persistedJobs
	if err := json.Unmarshal(data, &p); err != nil || p.Version != stateVersion {
		aside := path + ".corrupt"
		if rerr := os.Rename(path, aside); rerr != nil {
			return nil, 0, nil, "", fmt.Errorf("bmc: move corrupt job history aside: %w", rerr)
		}
		return nil, 1, nil, fmt.Sprintf("job history %s was unreadable; moved to %s", path, aside), nil
	}
	for i := range p.Jobs {
		j := &p.Jobs[i]
		if j.State.Final() {
			continue
		}
		if j.State == JobRunning && j.Kind == "" {
			interruptedSlots = append(interruptedSlots, j.Slot)
		}
		j.Error = fmt.Sprintf("bmcd stopped while the job was %s", j.State)
		if j.Cluster != nil {
			interruptClusterNodes(j.Cluster)
		}
		j.State = JobInterrupted
		j.Finished = now
	}
	if p.NextID < 1 {
		p.NextID = 1
	}
	return p.Jobs, p.NextID, interruptedSlots, "", nil
}

func saveJobs(dir string, jobs []Job, nextID int64) error {
	if len(jobs) > jobHistory {
		jobs = jobs[len(jobs)-jobHistory:]
	}
	data, err := json.MarshalIndent(persistedJobs{Version: stateVersion, NextID: nextID, Jobs: jobs}, "", "  ")
	if err != nil {
		return fmt.Errorf("bmc: encode job history: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, jobsFile), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("bmc: save job history: %w", err)
	}
	return nil
}

// interruptClusterNodes marks the nodes a cluster job was busy with when
// bmcd stopped: what they did is unknown until a cluster job looks
// again (an install may even have finished on its own).
func interruptClusterNodes(c *ClusterJob) {
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if n.Doing == "" {
			continue
		}
		n.Action, n.Error, n.Doing = ClusterActionInterrupted, "bmcd stopped while "+n.Doing, ""
	}
}
