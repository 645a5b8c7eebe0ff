package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// consoleServer implements the console WebSocket of api/apitype/console.go
// for one slot: hello, history, then what script does.
type consoleServer struct {
	history []byte
	// script runs after the history; nil echoes binary frames back until
	// the client closes.
	script func(ctx context.Context, ws *websocket.Conn)

	mu       sync.Mutex
	query    url.Values
	header   http.Header
	received []byte               // binary frames from the client
	closed   websocket.StatusCode // how the client ended the session
	done     chan struct{}
}

func (s *consoleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.query, s.header = r.URL.Query(), r.Header.Clone()
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer tok" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"code":"unauthorized","message":"token is unknown or expired: log in again"}}`)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer close(s.done)
	defer ws.CloseNow()
	ctx := r.Context()
	writable := r.URL.Query().Get("readonly") != "1"
	hello, _ := json.Marshal(apitype.ConsoleMessage{Type: apitype.ConsoleHello, Slot: 3, Device: "/dev/ttyS3", Writable: writable, Mode: &apitype.ConsoleMode{Baud: 115200, DataBits: 8, Parity: "none", StopBits: "1"}})
	if ws.Write(ctx, websocket.MessageText, hello) != nil {
		return
	}
	history := s.history
	if h := r.URL.Query().Get("history"); h == "0" {
		history = nil
	}
	if len(history) > 0 && ws.Write(ctx, websocket.MessageBinary, history) != nil {
		return
	}
	if s.script != nil {
		s.script(ctx, ws)
		return
	}
	for {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			s.mu.Lock()
			s.closed = websocket.CloseStatus(err)
			s.mu.Unlock()
			return
		}
		if typ != websocket.MessageBinary {
			continue
		}
		if !writable {
			_ = ws.Close(apitype.ConsoleCloseReadOnly, "read-only session")
			return
		}
		s.mu.Lock()
		s.received = append(s.received, data...)
		s.mu.Unlock()
		if ws.Write(ctx, websocket.MessageBinary, data) != nil {
			return
		}
	}
}

func newConsoleServer(t *testing.T, s *consoleServer) *Client {
	t.Helper()
	s.done = make(chan struct{})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return New(srv.URL, WithToken("tok"), WithUserAgent("test/1"))
}

// wait waits for the server's handler to end.
func (s *consoleServer) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the server's session did not end")
	}
}

func TestDialConsole(t *testing.T) {
	t.Parallel()
	s := &consoleServer{history: []byte("U-Boot 2024.01\r\nlogin: ")}
	c := newConsoleServer(t, s)
	ctx := t.Context()
	cc, err := c.DialConsole(ctx, 3, ConsoleOptions{History: -1})
	require.NoError(t, err)

	assert.Equal(t, apitype.ConsoleMessage{Type: "hello", Slot: 3, Device: "/dev/ttyS3", Writable: true, Mode: &apitype.ConsoleMode{Baud: 115200, DataBits: 8, Parity: "none", StopBits: "1"}}, cc.Hello())
	s.mu.Lock()
	assert.Equal(t, url.Values{}, s.query, "all history: no parameter")
	assert.Equal(t, "Bearer tok", s.header.Get("Authorization"))
	assert.Equal(t, "test/1", s.header.Get("User-Agent"))
	s.mu.Unlock()

	f, err := cc.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, ConsoleFrame{Data: []byte("U-Boot 2024.01\r\nlogin: ")}, f)

	require.NoError(t, cc.Write(ctx, []byte("root\r")))
	f, err = cc.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, "root\r", string(f.Data))
	assert.Nil(t, f.Message)

	bin := []byte{0, 0x03, 0x1d, 0xff, '\n'}
	require.NoError(t, cc.Write(ctx, bin))
	f, err = cc.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, bin, f.Data, "bytes go through unchanged")

	require.NoError(t, cc.Close())
	s.wait(t)
	s.mu.Lock()
	assert.Equal(t, websocket.StatusNormalClosure, s.closed)
	assert.Equal(t, append([]byte("root\r"), bin...), s.received)
	s.mu.Unlock()

	_, err = cc.Read(ctx)
	assert.ErrorIs(t, err, net.ErrClosed, "read after Close")
	assert.ErrorIs(t, cc.Write(ctx, []byte("x")), net.ErrClosed)
	assert.NoError(t, cc.Close(), "a second Close")
}

func TestDialConsoleOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts ConsoleOptions
		want url.Values
	}{
		{name: "all", opts: ConsoleOptions{History: -1}, want: url.Values{}},
		{name: "none", opts: ConsoleOptions{}, want: url.Values{"history": {"0"}}},
		{name: "some, read-only", opts: ConsoleOptions{History: 4096, ReadOnly: true}, want: url.Values{"history": {"4096"}, "readonly": {"1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &consoleServer{history: []byte("old"), script: func(context.Context, *websocket.Conn) {}}
			c := newConsoleServer(t, s)
			cc, err := c.DialConsole(t.Context(), 3, tt.opts)
			require.NoError(t, err)
			defer cc.Close()
			s.mu.Lock()
			assert.Equal(t, tt.want, s.query)
			s.mu.Unlock()
			assert.Equal(t, !tt.opts.ReadOnly, cc.Hello().Writable)
		})
	}
}

func TestConsoleMessages(t *testing.T) {
	t.Parallel()
	s := &consoleServer{script: func(ctx context.Context, ws *websocket.Conn) {
		_ = ws.Write(ctx, websocket.MessageBinary, []byte("a"))
		_ = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"missed","bytes":1234}`))
		_ = ws.Write(ctx, websocket.MessageText, []byte(`not JSON`))
		_ = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"notice","message":"port lost: reopening"}`))
		_ = ws.Write(ctx, websocket.MessageBinary, []byte("b"))
		_ = ws.Close(websocket.StatusNormalClosure, "")
	}}
	c := newConsoleServer(t, s)
	cc, err := c.DialConsole(t.Context(), 3, ConsoleOptions{})
	require.NoError(t, err)
	var got []ConsoleFrame
	for {
		f, err := cc.Read(t.Context())
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		got = append(got, f)
	}
	assert.Equal(t, []ConsoleFrame{
		{Data: []byte("a")},
		{Message: &apitype.ConsoleMessage{Type: "missed", Bytes: 1234}},
		{Message: &apitype.ConsoleMessage{Type: "notice", Message: "port lost: reopening"}},
		{Data: []byte("b")},
	}, got, "a text frame that is not a message is skipped")
	_, err = cc.Read(t.Context())
	assert.Equal(t, io.EOF, err, "the end is kept")
	assert.NoError(t, cc.Close())
}

func TestConsoleClosed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		code   websocket.StatusCode
		reason string
		want   string
	}{
		{name: "read-only", code: apitype.ConsoleCloseReadOnly, reason: "read-only session", want: "console: session is read-only"},
		{name: "slow", code: apitype.ConsoleCloseSlow, want: "console: dropped: client too slow"},
		{name: "gone", code: apitype.ConsoleCloseGone, want: "console: bmcd is shutting down"},
		{name: "going away", code: websocket.StatusGoingAway, want: "console: bmcd went away"},
		{name: "other", code: websocket.StatusInternalError, reason: "boom", want: "console: closed by bmcd with status 1011: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &consoleServer{script: func(ctx context.Context, ws *websocket.Conn) {
				_ = ws.Write(ctx, websocket.MessageBinary, []byte("last words"))
				_ = ws.Close(tt.code, tt.reason)
			}}
			c := newConsoleServer(t, s)
			cc, err := c.DialConsole(t.Context(), 3, ConsoleOptions{})
			require.NoError(t, err)
			f, err := cc.Read(t.Context())
			require.NoError(t, err)
			assert.Equal(t, "last words", string(f.Data))
			_, err = cc.Read(t.Context())
			require.EqualError(t, err, tt.want)
			var ce *ConsoleClosedError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, int(tt.code), ce.Code)
			assert.Equal(t, tt.reason, ce.Reason)
			_, again := cc.Read(t.Context())
			assert.Equal(t, err, again)
			assert.Equal(t, err, cc.Write(t.Context(), []byte("x")))
			assert.NoError(t, cc.Close())
		})
	}

	t.Run("writing on a read-only session", func(t *testing.T) {
		s := &consoleServer{}
		c := newConsoleServer(t, s)
		cc, err := c.DialConsole(t.Context(), 3, ConsoleOptions{ReadOnly: true})
		require.NoError(t, err)
		assert.False(t, cc.Hello().Writable)
		require.NoError(t, cc.Write(t.Context(), []byte("x")))
		_, err = cc.Read(t.Context())
		assert.EqualError(t, err, "console: session is read-only")
	})

	t.Run("connection lost", func(t *testing.T) {
		s := &consoleServer{script: func(_ context.Context, ws *websocket.Conn) { _ = ws.CloseNow() }}
		c := newConsoleServer(t, s)
		cc, err := c.DialConsole(t.Context(), 3, ConsoleOptions{})
		require.NoError(t, err)
		_, err = cc.Read(t.Context())
		require.ErrorContains(t, err, "console: connection to bmcd at "+c.BaseURL+" lost: ")
		assert.NotErrorIs(t, err, io.EOF, "a lost connection is not a normal end")
	})

	t.Run("context canceled", func(t *testing.T) {
		s := &consoleServer{}
		c := newConsoleServer(t, s)
		cc, err := c.DialConsole(t.Context(), 3, ConsoleOptions{})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err = cc.Read(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestConsoleCloseWhileReading(t *testing.T) {
	t.Parallel()
	// bmcctl reads in one goroutine and closes from another on detach:
	// that must be quick and must unblock the reader.
	s := &consoleServer{}
	c := newConsoleServer(t, s)
	cc, err := c.DialConsole(t.Context(), 3, ConsoleOptions{})
	require.NoError(t, err)
	read := make(chan error, 1)
	go func() {
		_, err := cc.Read(t.Context())
		read <- err
	}()
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	require.NoError(t, cc.Close())
	assert.Less(t, time.Since(start), 2*time.Second)
	select {
	case err := <-read:
		assert.Error(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Read not unblocked by Close")
	}
	s.wait(t)
	s.mu.Lock()
	assert.Equal(t, websocket.StatusNormalClosure, s.closed)
	s.mu.Unlock()
}

func TestConsoleCloseReportsRefusal(t *testing.T) {
	t.Parallel()
	// bmcd bounds the frames it reads; a frame over the bound is refused
	// with 1009, which Close must not hide.
	s := &consoleServer{script: func(ctx context.Context, ws *websocket.Conn) {
		ws.SetReadLimit(16)
		_, _, _ = ws.Read(ctx)
		_, _, _ = ws.Read(ctx)
	}}
	c := newConsoleServer(t, s)
	cc, err := c.DialConsole(t.Context(), 3, ConsoleOptions{})
	require.NoError(t, err)
	require.NoError(t, cc.Write(t.Context(), make([]byte, 100)))
	err = cc.Close()
	var ce *ConsoleClosedError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, int(websocket.StatusMessageTooBig), ce.Code)
}

func TestDialConsoleErrors(t *testing.T) {
	t.Parallel()
	t.Run("not logged in", func(t *testing.T) {
		s := &consoleServer{}
		c := newConsoleServer(t, s)
		c.Token = "stale"
		_, err := c.DialConsole(t.Context(), 3, ConsoleOptions{})
		var ae *APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, APIError{Status: 401, Code: apitype.CodeUnauthorized, Message: "token is unknown or expired: log in again"}, *ae)
		assert.True(t, IsUnauthorized(err))
	})

	for _, tt := range []struct {
		name   string
		status int
		body   string
		want   APIError
	}{
		{
			name: "no such slot", status: 404,
			body: `{"error":{"code":"not_found","message":"slot 9: no such slot (board has slots 1-4)"}}`,
			want: APIError{Status: 404, Code: apitype.CodeNotFound, Message: "slot 9: no such slot (board has slots 1-4)"},
		},
		{
			name: "no console", status: 501,
			body: `{"error":{"code":"not_supported","message":"slot 9: this board has no console for the slot"}}`,
			want: APIError{Status: 501, Code: apitype.CodeNotSupported, Message: "slot 9: this board has no console for the slot"},
		},
		{
			name: "proxy", status: 502, body: "<html>",
			want: APIError{Status: 502, Message: "GET /api/v1/slots/9/console: bmcd answered 502 Bad Gateway"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := replay(t, tt.status, tt.body)
			_, err := c.DialConsole(t.Context(), 9, ConsoleOptions{})
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.want, *ae)
		})
	}

	t.Run("no hello", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ws, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer ws.CloseNow()
			_ = ws.Write(r.Context(), websocket.MessageBinary, []byte("output first"))
			_, _, _ = ws.Read(r.Context())
		}))
		defer srv.Close()
		_, err := New(srv.URL).DialConsole(t.Context(), 3, ConsoleOptions{})
		assert.EqualError(t, err, "attach to slot 3 console: bmcd did not start with a hello message")
	})

	t.Run("closed before hello", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ws, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			_ = ws.Close(apitype.ConsoleCloseGone, "")
		}))
		defer srv.Close()
		_, err := New(srv.URL).DialConsole(t.Context(), 3, ConsoleOptions{})
		assert.EqualError(t, err, "console: bmcd is shutting down")
	})

	t.Run("unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		base := "http://" + ln.Addr().String()
		require.NoError(t, ln.Close())
		_, err = New(base).DialConsole(t.Context(), 3, ConsoleOptions{})
		assert.EqualError(t, err, "cannot reach bmcd at "+base+": connection refused")
	})

	t.Run("bad scheme", func(t *testing.T) {
		_, err := New("ftp://bmc").DialConsole(t.Context(), 3, ConsoleOptions{})
		assert.EqualError(t, err, `attach to slot 3 console: base URL "ftp://bmc": want http or https`)
	})
}

func TestDialConsoleTLS(t *testing.T) {
	t.Parallel()
	// https becomes wss, through the client's own HTTP client (which
	// trusts the test certificate).
	s := &consoleServer{done: make(chan struct{})}
	srv := httptest.NewTLSServer(s)
	defer srv.Close()
	c := New(srv.URL, WithToken("tok"), WithHTTPClient(srv.Client()))
	cc, err := c.DialConsole(t.Context(), 3, ConsoleOptions{})
	require.NoError(t, err)
	require.NoError(t, cc.Write(t.Context(), []byte("x")))
	f, err := cc.Read(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "x", string(f.Data))
	require.NoError(t, cc.Close())

	_, err = New(srv.URL, WithToken("tok")).DialConsole(t.Context(), 3, ConsoleOptions{})
	require.ErrorContains(t, err, "cannot reach bmcd at "+srv.URL+": ", "the default client does not trust the test certificate")
}

func TestConsoleLog(t *testing.T) {
	t.Parallel()
	var gotQuery, gotAccept string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/api/v1/slots/2/console/log", r.URL.Path)
		assert.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
		gotQuery, gotAccept = r.URL.RawQuery, r.Header.Get("Accept")
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte("boot\x00\xff\r\n"))
	}))
	defer srv.Close()
	c := New(srv.URL, WithToken("tok"))

	data, err := c.ConsoleLog(t.Context(), 2, 0)
	require.NoError(t, err)
	assert.Equal(t, []byte("boot\x00\xff\r\n"), data, "raw bytes")
	assert.Empty(t, gotQuery, "all of it")
	assert.Equal(t, "application/octet-stream", gotAccept)

	_, err = c.ConsoleLog(t.Context(), 2, 4096)
	require.NoError(t, err)
	assert.Equal(t, "tail=4096", gotQuery)

	t.Run("error", func(t *testing.T) {
		c, _ := replay(t, http.StatusNotFound, `{"error":{"code":"not_found","message":"slot 9: no such slot (board has slots 1-4)"}}`)
		_, err := c.ConsoleLog(t.Context(), 9, 0)
		assert.EqualError(t, err, "slot 9: no such slot (board has slots 1-4)")
	})
}

func TestConsoleStateAndMode(t *testing.T) {
	t.Parallel()
	state := `{"slot":3,"device":"/dev/ttyS3","mode":{"baud":1500000,"data_bits":8,"parity":"none","stop_bits":"1"},"open":true,"reopens":1,"bytes_read":42,"buffered":42,"clients":2}`
	want := apitype.ConsoleState{Slot: 3, Device: "/dev/ttyS3", Mode: apitype.ConsoleMode{Baud: 1500000, DataBits: 8, Parity: "none", StopBits: "1"}, Open: true, Reopens: 1, BytesRead: 42, Buffered: 42, Clients: 2}

	c, reqs := replay(t, http.StatusOK, state)
	got, err := c.ConsoleState(t.Context(), 3)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	r := reqs()[0]
	assert.Equal(t, http.MethodGet, r.method)
	assert.Equal(t, "/api/v1/slots/3/console", r.path)

	got, err = c.SetConsoleMode(t.Context(), 3, apitype.ConsoleMode{Baud: 1500000})
	require.NoError(t, err)
	assert.Equal(t, want, got)
	r = reqs()[1]
	assert.Equal(t, http.MethodPatch, r.method)
	assert.Equal(t, "/api/v1/slots/3/console", r.path)
	assert.JSONEq(t, `{"baud":1500000}`, r.body, "zero fields are left out")

	t.Run("refused", func(t *testing.T) {
		c, _ := replay(t, http.StatusBadRequest, `{"error":{"code":"bad_request","message":"baud 7: want 50 to 4000000"}}`)
		_, err := c.SetConsoleMode(t.Context(), 3, apitype.ConsoleMode{Baud: 7})
		var ae *APIError
		require.True(t, errors.As(err, &ae))
		assert.Equal(t, "baud 7: want 50 to 4000000", err.Error())
	})
}
