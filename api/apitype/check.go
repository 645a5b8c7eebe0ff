package apitype

import (
	"fmt"
	"io"
	"strings"
)

// Board check statuses, in CheckFinding.Status. Only CheckFail makes a
// check fail as a whole.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "fail"
	CheckSkip = "skip"
)

// CheckFinding is one thing the board check looked at.
type CheckFinding struct {
	Name string `json:"name"`
	// Status is CheckOK, CheckWarn, CheckFail or CheckSkip.
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
		count[CheckOK], count[CheckWarn], count[CheckFail], count[CheckSkip])
	if r.Failed || count[CheckWarn] > 0 {
		b.WriteString("Something wrong? Send this whole report, the board's revision as printed on it, and what you expected.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
