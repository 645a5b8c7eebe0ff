package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api"
	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/hal"
)

// newCheckFixture serves a board whose check probes the simulated board.
func newCheckFixture(t *testing.T) *fixture {
	t.Helper()
	var hw hal.Board
	var dir string
	return newFixtureAPI(t, func(cfg *api.Config) {
		cfg.Checker = &bmc.Checker{Probe: hw.(hal.Prober), StateDir: dir, Board: cfg.Board}
	}, func(cfg *bmc.Config, d string) { hw, dir = cfg.HW, d })
}

func TestCheckReadOnly(t *testing.T) {
	t.Parallel()
	f := newCheckFixture(t)
	var rep apitype.CheckReport
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/api/v1/board/check", "", &rep))
	assert.False(t, rep.Failed, "%+v", rep)
	assert.Zero(t, rep.Active)
	require.NotEmpty(t, rep.Findings)
	assert.Equal(t, "slot 1", rep.Findings[0].Name)
	assert.Equal(t, "ok", rep.Findings[0].Status)
	assert.Empty(t, f.hw.Transitions(), "GET switched something")
}

func TestCheckActive(t *testing.T) {
	t.Parallel()
	f := newCheckFixture(t)
	var rep apitype.CheckReport
	require.Equal(t, http.StatusOK, f.do(t, "POST", "/api/v1/board/check?active=2", "", &rep))
	assert.Equal(t, 2, rep.Active)
	assert.False(t, rep.Failed, "%+v", rep)
	var names []string
	for _, fd := range rep.Findings {
		names = append(names, fd.Name)
	}
	assert.Contains(t, names, "slot 2 power on/off")
	assert.Contains(t, names, "slot 2 usb boot")
	var trs []string
	for _, tr := range f.hw.Transitions() {
		trs = append(trs, tr.String())
	}
	assert.Equal(t, []string{"slot2 power=on", "slot2 power=off"}, trs, "no booter: power only")
}

func TestCheckBadRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	f := newCheckFixture(t)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/v1/board/check?active=2", http.StatusBadRequest},
		{"POST", "/api/v1/board/check", http.StatusBadRequest},
		{"POST", "/api/v1/board/check?active=two", http.StatusBadRequest},
		{"POST", "/api/v1/board/check?active=-1", http.StatusBadRequest},
		{"POST", "/api/v1/board/check?active=9", http.StatusNotFound},
	} {
		var body apitype.ErrorBody
		assert.Equal(t, tc.status, f.do(t, tc.method, tc.path, "", &body), "%s %s", tc.method, tc.path)
		assert.NotEmpty(t, body.Error.Message)
	}
	assert.Empty(t, f.hw.Transitions())

	f.token = ""
	assert.Equal(t, http.StatusUnauthorized, f.do(t, "GET", "/api/v1/board/check", "", nil))
}

func TestCheckWithoutChecker(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var body apitype.ErrorBody
	assert.Equal(t, http.StatusNotImplemented, f.do(t, "GET", "/api/v1/board/check", "", &body))
}

func TestCheckReportText(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	rep := api.NewCheckReport(0, []hal.Finding{
		{Name: "board profile", Status: hal.CheckOK, Detail: "sim"},
		{Name: "node1-en", Status: hal.CheckFail, Detail: "line not found"},
	})
	require.True(t, rep.Failed)
	require.NoError(t, rep.WriteText(&b))
	assert.Equal(t, "ok    board profile  sim\n"+
		"fail  node1-en       line not found\n"+
		"check: 1 ok, 0 warn, 1 fail, 0 skip\n"+
		"Something wrong? Send this whole report, the board's revision as printed on it, and what you expected.\n", b.String())
}

// The report's statuses are the board's, sent as they are: they must be the
// strings that apitype documents and WriteText counts.
func TestCheckReportStatusesAreWire(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		bmc  bmc.CheckStatus
		wire string
	}{
		{"ok", bmc.CheckOK, apitype.CheckOK},
		{"warn", bmc.CheckWarn, apitype.CheckWarn},
		{"fail", bmc.CheckFail, apitype.CheckFail},
		{"skip", bmc.CheckSkip, apitype.CheckSkip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep := api.NewCheckReport(0, []bmc.Finding{{Name: "x", Status: tc.bmc}})
			assert.Equal(t, tc.wire, rep.Findings[0].Status)
		})
	}
}
