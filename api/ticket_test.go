package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api"
	"github.com/turingpi-oss/bmcd/api/apitype"
)

// ticket asks for a ticket with the fixture's token.
func (f *fixture) ticket(t testing.TB) string {
	t.Helper()
	var tr apitype.TicketResponse
	require.Equal(t, http.StatusOK, f.do(t, "POST", "/api/v1/auth/ticket", "", &tr))
	require.NotEmpty(t, tr.Ticket)
	assert.Equal(t, 30, tr.ExpiresInS)
	return tr.Ticket
}

// getStatus sends a GET without a token and returns the status; for an
// event stream, only the headers are read.
func (f *fixture) getStatus(t testing.TB, path string, header http.Header) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", f.srv.URL+path, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestTicketOpensTheEventStreamOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ticket := f.ticket(t)
	assert.Equal(t, http.StatusOK, f.getStatus(t, "/api/v1/events?ticket="+ticket, nil))
	assert.Equal(t, http.StatusUnauthorized, f.getStatus(t, "/api/v1/events?ticket="+ticket, nil), "a ticket is good for one use")
	assert.Equal(t, http.StatusUnauthorized, f.getStatus(t, "/api/v1/events?ticket=forged", nil))
	assert.Equal(t, http.StatusUnauthorized, f.getStatus(t, "/api/v1/events?ticket=", nil))
	assert.Equal(t, http.StatusUnauthorized, f.getStatus(t, "/api/v1/events?ticket="+f.token, nil), "a token is not a ticket")
}

func TestTicketOnlyForStreams(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	assert.Equal(t, http.StatusUnauthorized, f.getStatus(t, "/api/v1/slots?ticket="+f.ticket(t), nil))
	assert.Equal(t, http.StatusUnauthorized, f.getStatus(t, "/api/v1/cluster/kubeconfig?ticket="+f.ticket(t), nil))
	assert.Equal(t, http.StatusUnauthorized, f.getStatus(t, "/api/v1/events?access_token="+f.token, nil),
		"tokens are never taken from a URL")

	f.token = ""
	var eb apitype.ErrorBody
	assert.Equal(t, http.StatusUnauthorized, f.do(t, "POST", "/api/v1/auth/ticket", "", &eb), "a ticket needs a token")
}

func TestTicketRevokedAtLogout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ticket := f.ticket(t)
	require.Equal(t, http.StatusNoContent, f.do(t, "POST", "/api/v1/auth/logout", "", nil))
	assert.Equal(t, http.StatusUnauthorized, f.getStatus(t, "/api/v1/events?ticket="+ticket, nil))
}

func TestTicketResponseNotCached(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	req, err := http.NewRequest("POST", f.srv.URL+"/api/v1/auth/ticket", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
}

func TestTicketOpensTheConsole(t *testing.T) {
	t.Parallel()
	f := newConsoleFixture(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/api/v1/slots/1/console?history=0&ticket="

	ticket := f.ticket(t)
	ws, _, err := websocket.Dial(ctx, wsURL+ticket, &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {f.srv.URL}},
	})
	require.NoError(t, err, "a page served by bmcd opens the console with a ticket")
	_, data, err := ws.Read(ctx)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"hello"`)
	_ = ws.CloseNow()

	tests := []struct {
		name   string
		ticket string
		header http.Header
		status int
	}{
		{name: "used ticket", ticket: ticket, status: http.StatusUnauthorized},
		{name: "forged ticket", ticket: "forged", status: http.StatusUnauthorized},
		{name: "other site's page", ticket: f.ticket(t), header: http.Header{"Origin": {"https://evil.example"}}, status: http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, resp, err := websocket.Dial(ctx, wsURL+tc.ticket, &websocket.DialOptions{HTTPHeader: tc.header})
			require.Error(t, err)
			require.NotNil(t, resp)
			assert.Equal(t, tc.status, resp.StatusCode)
		})
	}
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http")+"/api/v1/slots/1/console?access_token="+f.token, nil)
	require.Error(t, err, "tokens are never taken from a URL")
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

// TestTicketsAndTokensStayOutOfLogs logs every request at debug level,
// failed ones too, and finds neither a ticket nor the token in the log.
func TestTicketsAndTokensStayOutOfLogs(t *testing.T) {
	t.Parallel()
	var log logBuffer
	f := newConsoleFixture(t, 0, func(cfg *api.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	used := f.ticket(t)
	require.Equal(t, http.StatusOK, f.getStatus(t, "/api/v1/events?ticket="+used, nil))
	require.Equal(t, http.StatusUnauthorized, f.getStatus(t, "/api/v1/events?ticket="+used, nil))
	evil := f.ticket(t)
	require.Equal(t, http.StatusForbidden, f.getStatus(t, "/api/v1/slots/1/console?ticket="+evil, http.Header{
		"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-WebSocket-Version": {"13"},
		"Sec-WebSocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}, "Origin": {"https://evil.example"},
	}))
	require.Equal(t, http.StatusUnauthorized, f.getStatus(t, "/api/v1/slots?access_token="+f.token, nil))

	require.Eventually(t, func() bool { return strings.Count(log.String(), "api: request") >= 4 }, 10*time.Second, 5*time.Millisecond)
	logged := log.String()
	assert.Contains(t, logged, "path=/api/v1/events", "the request is logged, by its path")
	for name, secret := range map[string]string{"used ticket": used, "refused ticket": evil, "token": f.token} {
		assert.NotContains(t, logged, secret, "the %s is in the log", name)
	}
}

// TestEventsResumeAfterQuery: a page that opens a new stream with a new
// ticket resumes after the last event it saw, as EventSource's own
// Last-Event-ID would.
func TestEventsResumeAfterQuery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	require.Equal(t, http.StatusOK, f.do(t, "POST", "/api/v1/slots/1/power", `{"action":"on"}`, nil))
	require.Equal(t, http.StatusOK, f.do(t, "POST", "/api/v1/slots/2/power", `{"action":"on"}`, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	read := func(query string) string {
		req, err := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/events?ticket="+f.ticket(t)+query, nil)
		require.NoError(t, err)
		resp, err := f.srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var got strings.Builder
		buf := make([]byte, 4096)
		for strings.Count(got.String(), "event: ") < 1 {
			n, err := resp.Body.Read(buf)
			require.NoError(t, err)
			got.Write(buf[:n])
		}
		return got.String()
	}
	// Without an ID the stream starts with new events only; with one it
	// starts with what came after it.
	resumed := read("&last_event_id=1")
	assert.NotContains(t, resumed, "id: 1\n")
	assert.Contains(t, resumed, "id: 2\n", resumed)

	var eb apitype.ErrorBody
	f.token = ""
	assert.Equal(t, http.StatusUnauthorized, f.do(t, "GET", "/api/v1/events?last_event_id=x", "", &eb))
}
