package client

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// Check runs the board check. With active 0 nothing is switched (GET);
// with a slot, that slot is also switched on and off and booted from USB
// to its boot ROM, then put back (POST). A report with failures is not an
// error: see CheckReport.Failed.
func (c *Client) Check(ctx context.Context, active int) (apitype.CheckReport, error) {
	var r apitype.CheckReport
	if active == 0 {
		return r, c.do(ctx, "board check", http.MethodGet, "/api/v1/board/check", nil, &r)
	}
	return r, c.do(ctx, fmt.Sprintf("board check of slot %d", active), http.MethodPost,
		"/api/v1/board/check?active="+strconv.Itoa(active), nil, &r)
}
