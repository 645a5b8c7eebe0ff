package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/bmc"
)

func (s *Server) listJobs(c *echo.Context) error {
	jobs := s.board.Jobs().List()
	out := make([]apitype.Job, len(jobs))
	for i, j := range jobs {
		out[i] = jobFromBMC(j)
	}
	return c.JSON(http.StatusOK, out)
}

func jobParam(c *echo.Context) (int64, error) {
	raw := c.Param("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, newError(http.StatusBadRequest, apitype.CodeBadRequest, fmt.Sprintf("job id %q is not a number", raw))
	}
	return id, nil
}

func (s *Server) getJob(c *echo.Context) error {
	id, err := jobParam(c)
	if err != nil {
		return err
	}
	j, err := s.board.Jobs().Get(id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, jobFromBMC(j))
}

// cancelJob cancels a queued or running job and answers 202 with the job
// as it stands; the job reaches "cancelled" once its slot is back in its
// known state (watch GET /api/v1/jobs/{id} or the event stream).
func (s *Server) cancelJob(c *echo.Context) error {
	id, err := jobParam(c)
	if err != nil {
		return err
	}
	j, err := s.board.Jobs().Cancel(id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, jobFromBMC(j))
}

func jobFromBMC(j bmc.Job) apitype.Job {
	out := apitype.Job{
		ID:           j.ID,
		Slot:         j.Slot,
		Image:        j.Image,
		State:        string(j.State),
		Step:         j.Step,
		Error:        j.Error,
		CleanupError: j.CleanupError,
		PowerOn:      j.Options.PowerOn,
		Progress: apitype.JobProgress{
			Phase:         j.Progress.Phase,
			BytesIn:       j.Progress.BytesIn,
			BytesWritten:  j.Progress.BytesWritten,
			BytesVerified: j.Progress.BytesVerified,
			Total:         j.Progress.Total,
			Rate:          j.Progress.Rate,
			ETASeconds:    j.Progress.ETA.Seconds(),
		},
		Created:  j.Created,
		Started:  optionalTime(j.Started),
		Finished: optionalTime(j.Finished),
	}
	out.Kind = "flash"
	if j.Kind != "" {
		out.Kind = j.Kind
	}
	if j.Cluster != nil {
		out.Cluster = clusterNodesFromBMC(j.Cluster.Nodes)
		out.ClusterOp = j.Cluster.Op
		if out.ClusterOp == "" {
			out.ClusterOp = bmc.ClusterOpUp
		}
	}
	if p := j.Options.Prepare; p != nil {
		out.Prepare = &apitype.JobPrepare{Hostname: p.Hostname, User: p.User, SSHKeys: p.AuthorizedKeys, K3sPrep: p.K3sPrep}
	}
	return out
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
