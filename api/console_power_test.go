package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api"
	"github.com/turingpi-oss/bmcd/api/apitype"
)

// logBuffer collects a server's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestConsoleShowsSlotPower: the console's state and the WebSocket hello
// carry the slot's measured power, and a session on an off slot is told.
func TestConsoleShowsSlotPower(t *testing.T) {
	t.Parallel()
	f := newConsoleFixture(t, 0)
	var st apitype.ConsoleState
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/api/v1/slots/1/console", "", &st))
	assert.Equal(t, "off", st.Power)

	ws, hello := f.dial(t, "?history=0")
	assert.Equal(t, "off", hello.Power)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, data, err := ws.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, websocket.MessageText, typ)
	var notice apitype.ConsoleMessage
	require.NoError(t, json.Unmarshal(data, &notice))
	assert.Equal(t, apitype.ConsoleMessage{Type: apitype.ConsoleNotice, Message: "slot 1 is off: nothing answers until it is switched on"}, notice)

	require.Equal(t, http.StatusOK, f.do(t, "POST", "/api/v1/slots/1/power", `{"action":"on"}`, nil))
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/api/v1/slots/1/console", "", &st))
	assert.Equal(t, "on", st.Power)
	_, hello = f.dial(t, "?history=0")
	assert.Equal(t, "on", hello.Power)
	require.Equal(t, http.StatusOK, f.do(t, "PATCH", "/api/v1/slots/1/console", `{"baud":9600}`, &st))
	assert.Equal(t, "on", st.Power)
}

func TestConsoleLogTailNegative(t *testing.T) {
	t.Parallel()
	f := newConsoleFixture(t, 0)
	var eb apitype.ErrorBody
	assert.Equal(t, http.StatusBadRequest, f.do(t, "GET", "/api/v1/slots/1/console/log?tail=-5", "", &eb))
	assert.Equal(t, "tail -5: want a number of bytes, 0 or more (0: all)", eb.Error.Message)
}

// TestConsoleOriginRefused: a WebSocket opened by another site's page is
// refused with 403 and the JSON error envelope.
func TestConsoleOriginRefused(t *testing.T) {
	t.Parallel()
	f := newConsoleFixture(t, 0)
	req, err := http.NewRequest("GET", f.srv.URL+"/api/v1/slots/1/console", nil)
	require.NoError(t, err)
	for k, v := range map[string]string{
		"Authorization": "Bearer " + f.token, "Connection": "Upgrade", "Upgrade": "websocket",
		"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": "https://evil.example",
	} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var eb apitype.ErrorBody
	require.NoError(t, jsonDecode(resp.Body, &eb))
	assert.Equal(t, "forbidden", eb.Error.Code)
	assert.Contains(t, eb.Error.Message, `WebSocket from origin "https://evil.example" refused`)
}

// TestConsoleDetachLogsReason closes a session from the client: the log
// says why the session ended.
func TestConsoleDetachLogsReason(t *testing.T) {
	t.Parallel()
	var log logBuffer
	f := newConsoleFixture(t, 0, func(cfg *api.Config) { cfg.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
	ws, _ := f.dial(t, "?history=0")
	require.NoError(t, ws.Close(websocket.StatusNormalClosure, "bye"))
	require.Eventually(t, func() bool { return bytes.Contains([]byte(log.String()), []byte("console detached")) }, 10*time.Second, 5*time.Millisecond)
	assert.Contains(t, log.String(), `msg="api: console detached" slot=1`)
	assert.Contains(t, log.String(), `reason="client closed the session (1000)"`)
	assert.NotContains(t, log.String(), `reason=""`)
}

func TestConsoleBadModeSaysWhat(t *testing.T) {
	t.Parallel()
	f := newConsoleFixture(t, 0)
	var eb apitype.ErrorBody
	assert.Equal(t, http.StatusBadRequest, f.do(t, "PATCH", "/api/v1/slots/1/console", `{"baud":7}`, &eb))
	assert.Equal(t, "invalid console mode: baud 7 not in 50..4000000", eb.Error.Message)
}
