package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/turingpi-oss/bmcd/api"
	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/auth"
	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/hal/sim"
)

const testPassword = "correct horse battery staple"

type fixture struct {
	dir   string
	srv   *httptest.Server
	hw    *sim.Board
	board *bmc.Board
	token string
}

// newFixture serves the API of a simulated 4-slot board with state in
// dir (a new temporary directory if ""), logged in.
func newFixture(t testing.TB, mods ...func(cfg *bmc.Config, dir string)) *fixture {
	t.Helper()
	return newFixtureAPI(t, nil, mods...)
}

// newFixtureAPI is newFixture with a hook on the API server's config.
func newFixtureAPI(t testing.TB, apiMod func(cfg *api.Config), mods ...func(cfg *bmc.Config, dir string)) *fixture {
	t.Helper()
	dir := t.TempDir()
	hw, err := sim.New(&sim.Opts{Slots: 4, StatePath: filepath.Join(dir, "hw.json")})
	require.NoError(t, err)
	cfg := bmc.Config{HW: hw, StateDir: dir, StaggerDelay: time.Millisecond, CycleDelay: time.Millisecond}
	for _, m := range mods {
		m(&cfg, dir)
	}
	board, err := bmc.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, board.Close()) })
	authn, _, err := auth.New(auth.Config{StateDir: dir, Password: auth.PasswordSource{Clear: testPassword}, BcryptCost: bcrypt.MinCost})
	require.NoError(t, err)
	apiCfg := api.Config{Board: board, Auth: authn, Version: "test", KeepAlive: 50 * time.Millisecond}
	if apiMod != nil {
		apiMod(&apiCfg)
	}
	s, err := api.New(apiCfg)
	require.NoError(t, err)
	f := &fixture{srv: httptest.NewServer(s), hw: hw, board: board, dir: dir}
	t.Cleanup(f.srv.Close)
	var lr apitype.LoginResponse
	status := f.do(t, "POST", "/api/v1/auth/login", `{"username":"admin","password":"`+testPassword+`"}`, &lr)
	require.Equal(t, http.StatusOK, status)
	require.NotEmpty(t, lr.Token)
	assert.True(t, lr.ExpiresAt.After(time.Now()))
	f.token = lr.Token
	return f
}

// do sends a request with the fixture's token (if any) and decodes the
// JSON response into out, returning the status.
func (f *fixture) do(t testing.TB, method, path, body string, out any) int {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	resp, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil {
		require.NoError(t, json.Unmarshal(data, out), "body: %s", data)
	}
	return resp.StatusCode
}

func TestPowerOnThenStatus(t *testing.T) {
	f := newFixture(t)
	var st apitype.Slot
	require.Equal(t, http.StatusOK, f.do(t, "POST", "/api/v1/slots/3/power", `{"action":"on"}`, &st))
	assert.Equal(t, "on", st.Power)
	assert.Equal(t, 3, st.Slot)

	var slots []apitype.Slot
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/api/v1/slots", "", &slots))
	require.Len(t, slots, 4)
	for _, s := range slots {
		want := "off"
		if s.Slot == 3 {
			want = "on"
		}
		assert.Equal(t, want, s.Power, "slot %d", s.Slot)
	}
	var board apitype.BoardInfo
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/api/v1/board", "", &board))
	assert.Equal(t, "sim", board.Profile)
	assert.Equal(t, 4, board.Slots)
	assert.Contains(t, board.Capabilities, "reset")
}

func TestPatchSlot(t *testing.T) {
	f := newFixture(t)
	var st apitype.Slot
	require.Equal(t, http.StatusOK, f.do(t, "PATCH", "/api/v1/slots/2", `{"name":"server","policy":"always-on"}`, &st))
	assert.Equal(t, "server", st.Name)
	assert.Equal(t, "always-on", st.Policy)
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/api/v1/slots/2", "", &st))
	assert.Equal(t, "server", st.Name)
}

func TestPowerAll(t *testing.T) {
	f := newFixture(t)
	var slots []apitype.Slot
	require.Equal(t, http.StatusOK, f.do(t, "POST", "/api/v1/power", `{"action":"on"}`, &slots))
	require.Len(t, slots, 4)
	for _, s := range slots {
		assert.Equal(t, "on", s.Power)
	}
	require.Equal(t, http.StatusOK, f.do(t, "POST", "/api/v1/power", `{"action":"off"}`, &slots))
	for _, s := range slots {
		assert.Equal(t, "off", s.Power)
	}
}

// TestBadInput checks every malformed request gets a clear 4xx with the
// error envelope and changes nothing on the hardware.
func TestBadInput(t *testing.T) {
	huge := `{"action":"on","pad":"` + strings.Repeat("x", 70<<10) + `"}`
	tests := []struct {
		name, method, path, body string
		noToken                  bool
		status                   int
		code, message            string
	}{
		{name: "slot 0", method: "POST", path: "/api/v1/slots/0/power", body: `{"action":"on"}`, status: 404, code: "not_found", message: "slot 0: no such slot (the board has slots 1-4)"},
		{name: "slot 9", method: "POST", path: "/api/v1/slots/9/power", body: `{"action":"on"}`, status: 404, code: "not_found", message: "slot 9: no such slot (the board has slots 1-4)"},
		{name: "slot -1", method: "POST", path: "/api/v1/slots/-1/power", body: `{"action":"on"}`, status: 404, code: "not_found", message: "slot -1"},
		{name: "slot abc", method: "POST", path: "/api/v1/slots/abc/power", body: `{"action":"on"}`, status: 400, code: "bad_request", message: `invalid slot "abc"`},
		{name: "get slot 9", method: "GET", path: "/api/v1/slots/9", status: 404, code: "not_found", message: "no such slot"},
		{name: "unknown action", method: "POST", path: "/api/v1/slots/1/power", body: `{"action":"explode"}`, status: 400, code: "bad_request", message: `action "explode"`},
		{name: "missing action", method: "POST", path: "/api/v1/slots/1/power", body: `{}`, status: 400, code: "bad_request", message: `action ""`},
		{name: "malformed json", method: "POST", path: "/api/v1/slots/1/power", body: `{"action":`, status: 400, code: "bad_request", message: "malformed JSON"},
		{name: "not an object", method: "POST", path: "/api/v1/slots/1/power", body: `"on"`, status: 400, code: "bad_request", message: "malformed JSON"},
		{name: "unknown field", method: "POST", path: "/api/v1/slots/1/power", body: `{"action":"on","slot":2}`, status: 400, code: "bad_request", message: `malformed JSON: unknown field "slot"`},
		{name: "wrong type", method: "POST", path: "/api/v1/slots/1/power", body: `{"action":"on","force":"yes"}`, status: 400, code: "bad_request", message: `malformed JSON: field "force": want true or false`},
		{name: "wrong type in patch", method: "PATCH", path: "/api/v1/slots/1", body: `{"name":5}`, status: 400, code: "bad_request", message: `malformed JSON: field "name": want a string`},
		{name: "two values", method: "POST", path: "/api/v1/slots/1/power", body: `{"action":"on"}{"action":"off"}`, status: 400, code: "bad_request", message: "more than one value"},
		{name: "empty body", method: "POST", path: "/api/v1/slots/1/power", body: ` `, status: 400, code: "bad_request", message: "empty body"},
		{name: "oversized json", method: "POST", path: "/api/v1/slots/1/power", body: huge, status: 413, code: "too_large", message: "larger than"},
		{name: "all: unknown action", method: "POST", path: "/api/v1/power", body: `{"action":"sideways"}`, status: 400, code: "bad_request", message: "sideways"},
		{name: "bad policy", method: "PATCH", path: "/api/v1/slots/1", body: `{"policy":"sometimes"}`, status: 400, code: "bad_request", message: `policy "sometimes"`},
		{name: "name too long", method: "PATCH", path: "/api/v1/slots/1", body: `{"name":"` + strings.Repeat("n", 65) + `"}`, status: 400, code: "bad_request", message: "longer than 64"},
		{name: "reset of an off slot", method: "POST", path: "/api/v1/slots/1/power", body: `{"action":"reset"}`, status: 409, code: "slot_off", message: "reset slot 1: the slot is off"},
		{name: "job id not a number", method: "GET", path: "/api/v1/jobs/x", status: 400, code: "bad_request", message: `job id "x" is not a number`},
		{name: "no token", method: "POST", path: "/api/v1/slots/1/power", body: `{"action":"on"}`, noToken: true, status: 401, code: "unauthorized", message: "authentication required"},
		{name: "no token for events", method: "GET", path: "/api/v1/events", noToken: true, status: 401, code: "unauthorized"},
		{name: "unknown route", method: "GET", path: "/api/v1/nothing", status: 404, code: "not_found"},
		{name: "wrong method", method: "DELETE", path: "/api/v1/slots/1/power", status: 405, code: "method_not_allowed"},
		{name: "save defaults unsupported", method: "POST", path: "/api/v1/power/save-defaults", status: 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.noToken {
				f.token = ""
			}
			before := len(f.hw.Transitions())
			var body apitype.ErrorBody
			var out any = &body
			if tt.status == 204 {
				out = nil
			}
			status := f.do(t, tt.method, tt.path, tt.body, out)
			assert.Equal(t, tt.status, status)
			if tt.status != 204 {
				assert.Equal(t, tt.code, body.Error.Code)
				assert.Contains(t, body.Error.Message, tt.message)
			}
			assert.Len(t, f.hw.Transitions(), before, "a bad request must not touch the hardware")
			for _, s := range f.board.Slots(context.Background()) {
				assert.Empty(t, s.Name)
				assert.Equal(t, bmc.AlwaysOff, s.Policy)
			}
		})
	}
}

func TestLogin(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{name: "wrong password", body: `{"username":"admin","password":"nope"}`, status: 401, code: "unauthorized"},
		{name: "wrong user", body: `{"username":"root","password":"` + testPassword + `"}`, status: 401, code: "unauthorized"},
		{name: "malformed", body: `{"username":`, status: 400, code: "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.token = ""
			var body apitype.ErrorBody
			assert.Equal(t, tt.status, f.do(t, "POST", "/api/v1/auth/login", tt.body, &body))
			assert.Equal(t, tt.code, body.Error.Code)
		})
	}
	t.Run("bogus token", func(t *testing.T) {
		f := newFixture(t)
		f.token = "not-a-token"
		var body apitype.ErrorBody
		assert.Equal(t, 401, f.do(t, "GET", "/api/v1/slots", "", &body))
		assert.Contains(t, body.Error.Message, "expired")
	})
	t.Run("lock-out after repeated failures", func(t *testing.T) {
		f := newFixture(t)
		f.token = ""
		var body apitype.ErrorBody
		for range 5 {
			require.Equal(t, 401, f.do(t, "POST", "/api/v1/auth/login", `{"username":"admin","password":"x"}`, &body))
		}
		// Even the right password is refused while locked out.
		assert.Equal(t, 429, f.do(t, "POST", "/api/v1/auth/login", `{"username":"admin","password":"`+testPassword+`"}`, &body))
		assert.Equal(t, "rate_limited", body.Error.Code)
	})
}

func TestLogoutRevokesToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	require.Equal(t, http.StatusNoContent, f.do(t, "POST", "/api/v1/auth/logout", "", nil))
	var body apitype.ErrorBody
	assert.Equal(t, http.StatusUnauthorized, f.do(t, "GET", "/api/v1/slots", "", &body))
	assert.Equal(t, "unauthorized", body.Error.Code)
	assert.Equal(t, http.StatusUnauthorized, f.do(t, "POST", "/api/v1/auth/logout", "", &body), "logged out already")
}

// TestPowerNotSavedWarns: a power change made while the state cannot be
// saved answers 200 with the change and a warning that says so.
func TestPowerNotSavedWarns(t *testing.T) {
	t.Parallel()
	var stateDir string
	f := newFixture(t, func(cfg *bmc.Config, dir string) {
		stateDir = filepath.Join(dir, "state")
		require.NoError(t, os.Mkdir(stateDir, 0o700))
		cfg.StateDir = stateDir
	})
	require.NoError(t, os.RemoveAll(stateDir)) // every write fails, even as root
	var st apitype.Slot
	require.Equal(t, http.StatusOK, f.do(t, "POST", "/api/v1/slots/3/power", `{"action":"on"}`, &st))
	assert.Equal(t, "on", st.Power)
	assert.Contains(t, st.Warning, "requested power state not saved")
	var slots []apitype.Slot
	require.Equal(t, http.StatusOK, f.do(t, "POST", "/api/v1/power", `{"action":"off"}`, &slots))
	for _, s := range slots {
		assert.Contains(t, s.Warning, "requested power state not saved", "slot %d", s.Slot)
	}
	require.NoError(t, os.Mkdir(stateDir, 0o700))
	require.Equal(t, http.StatusOK, f.do(t, "POST", "/api/v1/slots/3/power", `{"action":"on"}`, nil))
	// The background write of this request saves everything again.
	require.Eventually(t, func() bool {
		var saved apitype.Slot
		return f.do(t, "GET", "/api/v1/slots/3", "", &saved) == http.StatusOK && saved.Warning == ""
	}, 10*time.Second, time.Millisecond)
}

func TestHealthNeedsNoToken(t *testing.T) {
	f := newFixture(t)
	f.token = ""
	var body map[string]string
	assert.Equal(t, 200, f.do(t, "GET", "/healthz", "", &body))
	assert.Equal(t, "ok", body["status"])
}

func TestEventsStream(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))

	require.Equal(t, 200, f.do(t, "POST", "/api/v1/slots/2/power", `{"action":"on"}`, nil))

	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 1024)
	for !bytes.Contains(buf, []byte("\n\n")) || !bytes.Contains(buf, []byte("event: power")) {
		n, err := resp.Body.Read(chunk)
		require.NoError(t, err)
		buf = append(buf, chunk[:n]...)
	}
	text := string(buf)
	i := strings.Index(text, "id: ")
	require.GreaterOrEqual(t, i, 0, text)
	block := text[i:]
	block = block[:strings.Index(block, "\n\n")]
	lines := strings.Split(block, "\n")
	require.Len(t, lines, 3, block)
	assert.Equal(t, "event: power", lines[1])
	var e apitype.Event
	require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(lines[2], "data: ")), &e))
	assert.Equal(t, "power", e.Type)
	require.NotNil(t, e.Slot)
	assert.Equal(t, 2, e.Slot.Slot)
	assert.Equal(t, "on", e.Slot.Power)
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
