package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/hal"
)

// CheckFinding is one thing the board check looked at (wire type).
type CheckFinding struct {
	Name string `json:"name"`
	// Status is "ok", "warn", "fail" or "skip".
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// CheckReport is the body of GET and POST /api/v1/board/check.
type CheckReport struct {
	// Active is the slot that was switched, 0 for none.
	Active   int            `json:"active,omitempty"`
	Findings []CheckFinding `json:"findings"`
	// Failed is set when any finding failed.
	Failed bool `json:"failed"`
}

// getCheck runs the read-only board check: nothing is switched, so GET.
func (s *Server) getCheck(c *echo.Context) error {
	if c.QueryParam("active") != "" {
		return newError(http.StatusBadRequest, CodeBadRequest,
			"active: switching a slot needs POST /api/v1/board/check?active=SLOT")
	}
	return s.runCheck(c, 0)
}

// postCheck runs the board check with the active part on one slot.
func (s *Server) postCheck(c *echo.Context) error {
	raw := c.QueryParam("active")
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return newError(http.StatusBadRequest, CodeBadRequest,
			fmt.Sprintf("active %q: want the slot number to switch (GET checks without switching)", raw))
	}
	return s.runCheck(c, n)
}

func (s *Server) runCheck(c *echo.Context, active int) error {
	if s.cfg.Checker == nil {
		return fmt.Errorf("board check: %w", hal.ErrNotSupported)
	}
	// The active part puts its slot back whatever the client does.
	ctx, cancel := s.operationContext(c)
	defer cancel()
	fs, err := s.cfg.Checker.Run(ctx, active)
	if err != nil {
		return err
	}
	rep := CheckReport{Active: active, Findings: make([]CheckFinding, 0, len(fs)), Failed: hal.Failed(fs)}
	for _, f := range fs {
		rep.Findings = append(rep.Findings, CheckFinding{Name: f.Name, Status: string(f.Status), Detail: f.Detail})
	}
	return c.JSON(http.StatusOK, rep)
}
