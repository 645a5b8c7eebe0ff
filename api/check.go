package api

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/bmc"
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
func NewCheckReport(active int, fs []bmc.Finding) CheckReport {
	rep := CheckReport{Active: active, Findings: make([]CheckFinding, 0, len(fs)), Failed: bmc.Failed(fs)}
	for _, f := range fs {
		rep.Findings = append(rep.Findings, CheckFinding{Name: f.Name, Status: string(f.Status), Detail: f.Detail})
	}
	return rep
}

// WriteText writes the report for a person: a line per finding, then a
// count per status and, if anything is wrong, what to send back. bmcctl
// and bmcd check print the same text.
func (r CheckReport) WriteText(w io.Writer) error {
	width := 0
	count := map[string]int{}
	for _, f := range r.Findings {
		width = max(width, len(f.Name))
		count[f.Status]++
	}
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%-4s  %-*s  %s\n", f.Status, width, f.Name, f.Detail)
	}
	fmt.Fprintf(&b, "check: %d ok, %d warn, %d fail, %d skip\n",
		count[string(bmc.CheckOK)], count[string(bmc.CheckWarn)], count[string(bmc.CheckFail)], count[string(bmc.CheckSkip)])
	if r.Failed || count[string(bmc.CheckWarn)] > 0 {
		b.WriteString("Something wrong? Send this whole report, the board's revision as printed on it, and what you expected.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
