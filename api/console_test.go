package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api"
	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/bmc/console"
	"github.com/turingpi-oss/bmcd/bmc/console/consoletest"
	"github.com/turingpi-oss/bmcd/hal"
)

// consoleFixture is the API with a console on slot 1 only.
type consoleFixture struct {
	*fixture
	node    *consoletest.PTY // the node's end of slot 1's UART
	console *console.Console
}

func newConsoleFixture(t testing.TB, bufferSize int, apiMods ...func(*api.Config)) *consoleFixture {
	t.Helper()
	n := consoletest.New(t)
	cs, err := bmc.OpenConsoles(bmc.ConsoleConfig{
		Wiring:     []hal.ConsolePort{{Slot: 1, Device: n.Path}},
		BufferSize: bufferSize,
		LogDir:     t.TempDir(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	f := newFixtureAPI(t, func(cfg *api.Config) {
		for _, m := range apiMods {
			m(cfg)
		}
	}, func(cfg *bmc.Config, _ string) { cfg.Consoles = cs })
	con, err := f.board.Console(1)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return con.Status().Open }, 10*time.Second, 5*time.Millisecond)
	return &consoleFixture{fixture: f, node: n, console: con}
}

// dial opens the console WebSocket with the fixture's token.
func (f *consoleFixture) dial(t testing.TB, query string) (*websocket.Conn, apitype.ConsoleMessage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/api/v1/slots/1/console" + query
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + f.token}},
	})
	require.NoError(t, err)
	if resp.Body != nil {
		resp.Body.Close()
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = ws.CloseNow() })
	typ, data, err := ws.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, websocket.MessageText, typ)
	var hello apitype.ConsoleMessage
	require.NoError(t, json.Unmarshal(data, &hello))
	require.Equal(t, apitype.ConsoleHello, hello.Type)
	return ws, hello
}

// readBytes reads binary frames until n bytes arrived; text frames are
// returned in msgs.
func readBytes(ctx context.Context, ws *websocket.Conn, n int) (data []byte, msgs []apitype.ConsoleMessage, err error) {
	for len(data) < n {
		typ, b, err := ws.Read(ctx)
		if err != nil {
			return data, msgs, err
		}
		if typ == websocket.MessageText {
			var m apitype.ConsoleMessage
			if err := json.Unmarshal(b, &m); err != nil {
				return data, msgs, err
			}
			msgs = append(msgs, m)
			continue
		}
		data = append(data, b...)
	}
	return data, msgs, nil
}

func TestConsoleLogAndState(t *testing.T) {
	f := newConsoleFixture(t, 0)
	const boot = "U-Boot 2024.04\r\nnode1 login: "
	_, err := f.node.Master.Write([]byte(boot))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return f.console.Status().BytesRead == int64(len(boot)) }, 10*time.Second, 5*time.Millisecond)

	get := func(path string) (int, []byte) {
		req, err := http.NewRequest("GET", f.srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+f.token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}
	status, body := get("/api/v1/slots/1/console/log")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "U-Boot 2024.04\r\nnode1 login: ", string(body))
	status, body = get("/api/v1/slots/1/console/log?tail=13")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "node1 login: ", string(body))

	var st apitype.ConsoleState
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/api/v1/slots/1/console", "", &st))
	assert.Equal(t, 1, st.Slot)
	assert.True(t, st.Open)
	assert.Equal(t, apitype.ConsoleMode{Baud: 115200, DataBits: 8, Parity: "none", StopBits: "1"}, st.Mode)
	assert.EqualValues(t, len(boot), st.BytesRead)

	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"no such slot", "GET", "/api/v1/slots/9/console/log", "", 404, apitype.CodeNotFound},
		{"slot without a console", "GET", "/api/v1/slots/2/console/log", "", 501, apitype.CodeNotSupported},
		{"slot not a number", "GET", "/api/v1/slots/x/console", "", 400, apitype.CodeBadRequest},
		{"bad tail", "GET", "/api/v1/slots/1/console/log?tail=lots", "", 400, apitype.CodeBadRequest},
		{"bad baud", "PATCH", "/api/v1/slots/1/console", `{"baud":-5}`, 400, apitype.CodeBadRequest},
		{"bad parity", "PATCH", "/api/v1/slots/1/console", `{"parity":"sometimes"}`, 400, apitype.CodeBadRequest},
		{"unknown field", "PATCH", "/api/v1/slots/1/console", `{"speed":9600}`, 400, apitype.CodeBadRequest},
		{"malformed JSON", "PATCH", "/api/v1/slots/1/console", `{"baud":`, 400, apitype.CodeBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var eb apitype.ErrorBody
			assert.Equal(t, tc.status, f.do(t, tc.method, tc.path, tc.body, &eb))
			assert.Equal(t, tc.code, eb.Error.Code)
			assert.NotEmpty(t, eb.Error.Message)
		})
	}
	assert.Equal(t, 115200, f.console.Mode().Baud, "refused changes change nothing")

	t.Run("baud change at run time", func(t *testing.T) {
		var st apitype.ConsoleState
		require.Equal(t, http.StatusOK, f.do(t, "PATCH", "/api/v1/slots/1/console", `{"baud":1500000}`, &st))
		assert.Equal(t, 1500000, st.Mode.Baud)
		assert.Equal(t, 8, st.Mode.DataBits)
		assert.Equal(t, 1500000, f.console.Mode().Baud)
	})

	t.Run("no token", func(t *testing.T) {
		resp, err := http.Get(f.srv.URL + "/api/v1/slots/1/console/log")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
}

func TestConsoleWebSocket(t *testing.T) {
	f := newConsoleFixture(t, 0)
	_, err := f.node.Master.Write([]byte("history\r\n"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return f.console.Status().BytesRead == 9 }, 10*time.Second, 5*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	ws, hello := f.dial(t, "")
	assert.True(t, hello.Writable)
	assert.Equal(t, 1, hello.Slot)
	assert.Equal(t, f.node.Path, hello.Device)
	require.NotNil(t, hello.Mode)
	assert.Equal(t, 115200, hello.Mode.Baud)

	got, _, err := readBytes(ctx, ws, 9)
	require.NoError(t, err)
	assert.Equal(t, "history\r\n", string(got), "history is replayed first")

	// Every byte value, both ways, unchanged, several times over.
	all := make([]byte, 0, 256*4)
	for range 4 {
		for b := range 256 {
			all = append(all, byte(b))
		}
	}
	_, err = f.node.Master.Write(all)
	require.NoError(t, err)
	got, _, err = readBytes(ctx, ws, len(all))
	require.NoError(t, err)
	assert.Equal(t, all, got, "node → client")

	require.NoError(t, ws.Write(ctx, websocket.MessageBinary, all))
	recv := make([]byte, 0, len(all))
	buf := make([]byte, 4096)
	for len(recv) < len(all) {
		n, err := f.node.Master.Read(buf)
		require.NoError(t, err)
		recv = append(recv, buf[:n]...)
	}
	assert.Equal(t, all, recv, "client → node")

	t.Run("history=0 and a tail", func(t *testing.T) {
		ws0, _ := f.dial(t, "?history=0")
		_, err := f.node.Master.Write([]byte("live"))
		require.NoError(t, err)
		got, _, err := readBytes(ctx, ws0, 4)
		require.NoError(t, err)
		assert.Equal(t, "live", string(got))

		ws3, _ := f.dial(t, "?history=3")
		got, _, err = readBytes(ctx, ws3, 3)
		require.NoError(t, err)
		assert.Equal(t, "ive", string(got))
	})

	t.Run("read-only session refuses writes", func(t *testing.T) {
		ro, hello := f.dial(t, "?readonly=1&history=0")
		assert.False(t, hello.Writable)
		require.NoError(t, ro.Write(ctx, websocket.MessageBinary, []byte("rm -rf /\r")))
		_, _, err := readBytes(ctx, ro, 1<<20)
		assert.Equal(t, websocket.StatusCode(apitype.ConsoleCloseReadOnly), websocket.CloseStatus(err), "%v", err)
	})

	t.Run("console closing ends the sessions", func(t *testing.T) {
		require.NoError(t, f.console.Close())
		_, _, err := readBytes(ctx, ws, 1<<20)
		assert.Equal(t, websocket.StatusCode(apitype.ConsoleCloseGone), websocket.CloseStatus(err), "%v", err)
	})
}

// TestConsoleFanOut attaches 100 WebSocket clients, one of which never
// reads: the other 99 get every byte, in order. The node writes far
// faster than a UART can, so the history is made large enough that
// keeping up is a matter of not being held back by the stuck client.
func TestConsoleFanOut(t *testing.T) {
	const clients = 100
	const total = 512 << 10
	f := newConsoleFixture(t, 2*total)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	stuck, _ := f.dial(t, "?history=0") // never read from
	_ = stuck
	conns := make([]*websocket.Conn, clients-1)
	for i := range conns {
		conns[i], _ = f.dial(t, "?history=0")
	}
	require.Eventually(t, func() bool { return f.console.Status().Clients == clients }, 10*time.Second, 5*time.Millisecond)

	want := make([]byte, total)
	for i := range want {
		want[i] = byte(i*7 + i>>9)
	}
	var wg sync.WaitGroup
	results := make([][]byte, len(conns))
	missed := make([]int64, len(conns))
	for i, ws := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data, msgs, err := readBytes(ctx, ws, total)
			assert.NoError(t, err)
			for _, m := range msgs {
				missed[i] += m.Bytes
			}
			results[i] = data
		}()
	}
	_, err := f.node.Master.Write(want)
	require.NoError(t, err)
	wg.Wait()
	for i, got := range results {
		require.Zero(t, missed[i], "client %d was told it missed bytes", i)
		require.True(t, bytes.Equal(want, got), "client %d: %d bytes, first difference at %d", i, len(got), firstDiff(want, got))
	}
	assert.EqualValues(t, total, f.console.Status().BytesRead)
}

// TestConsoleSlowClientDropped: a client whose connection stays blocked
// longer than ConsoleWriteTimeout is dropped; the console goes on.
func TestConsoleSlowClientDropped(t *testing.T) {
	f := newConsoleFixture(t, 0, func(cfg *api.Config) { cfg.ConsoleWriteTimeout = 300 * time.Millisecond })
	stuck, _ := f.dial(t, "?history=0") // never read from
	_ = stuck
	require.Eventually(t, func() bool { return f.console.Status().Clients == 1 }, 10*time.Second, 5*time.Millisecond)

	// Far more than the socket buffers hold, until the client is gone.
	block := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for f.console.Status().Clients > 0 {
			if _, err := f.node.Master.Write(block); err != nil {
				return
			}
		}
	}()
	require.Eventually(t, func() bool { return f.console.Status().Clients == 0 }, 60*time.Second, 10*time.Millisecond,
		"the stuck client is dropped")
	<-done
	assert.True(t, f.console.Status().Open, "the console itself is unaffected")
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
