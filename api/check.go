package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/bmc"
)

// getCheck runs the read-only board check: nothing is switched, so GET.
func (s *Server) getCheck(c *echo.Context) error {
	if c.QueryParam("active") != "" {
		return newError(http.StatusBadRequest, apitype.CodeBadRequest,
			"active: switching a slot needs POST /api/v1/board/check?active=SLOT")
	}
	return s.runCheck(c, 0)
}

// postCheck runs the board check with the active part on one slot.
func (s *Server) postCheck(c *echo.Context) error {
	raw := c.QueryParam("active")
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return newError(http.StatusBadRequest, apitype.CodeBadRequest,
			fmt.Sprintf("active %q: want the slot number to switch (GET checks without switching)", raw))
	}
	return s.runCheck(c, n)
}

func (s *Server) runCheck(c *echo.Context, active int) error {
	if s.cfg.Checker == nil {
		return fmt.Errorf("board check: %w", bmc.ErrNotSupported)
	}
	// The active part puts its slot back whatever the client does.
	ctx, cancel := s.operationContext(c)
	defer cancel()
	fs, err := s.cfg.Checker.Run(ctx, active)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, NewCheckReport(active, fs))
}

// NewCheckReport is the wire form of a check's findings.
func NewCheckReport(active int, fs []bmc.Finding) apitype.CheckReport {
	rep := apitype.CheckReport{Active: active, Findings: make([]apitype.CheckFinding, 0, len(fs)), Failed: bmc.Failed(fs)}
	for _, f := range fs {
		rep.Findings = append(rep.Findings, apitype.CheckFinding{Name: f.Name, Status: string(f.Status), Detail: f.Detail})
	}
	return rep
}
