package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// prompt is the shell's prompt on the simulated node in slot 3.
const prompt = "root@node3:~$ "

// fastDrain shortens the wait after the end of a piped stdin.
func fastDrain(t *testing.T) {
	t.Helper()
	q, m := drainQuiet, drainMax
	drainQuiet, drainMax = 50*time.Millisecond, time.Second
	t.Cleanup(func() { drainQuiet, drainMax = q, m })
}

func TestConsoleLogCommand(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	f.boot(t, 3)
	history := f.history(t, 3)

	r := bmcctl(t, "", "console", "3", "--log")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, history, r.stdout, "raw bytes, unchanged")
	assert.Contains(t, r.stdout, "\r\n", "the node's line ends, not translated")
	assert.Empty(t, r.stderr)

	r = bmcctl(t, "", "console", "3", "--log", "--tail", "9")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, history[len(history)-9:], r.stdout)
	assert.True(t, strings.HasSuffix(r.stdout, "login: "), r.stdout)

	r = bmcctl(t, "", "console", "2", "--log")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stdout, "no history yet")
}

func TestConsoleSendCommand(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	f.boot(t, 3)

	// What the node received shows in its echo: the user name, then
	// Enter, and the getty asks for the password.
	r := bmcctl(t, "", "console", "3", "--send", "root")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	assert.Empty(t, r.stderr)
	f.waitOutput(t, 3, "login: root\r\nPassword: ")

	r = bmcctl(t, "", "console", "3", "--send", "", "--baud", "1500000")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	f.waitOutput(t, 3, "\r\n"+prompt)
	c, err := f.board.Console(3)
	require.NoError(t, err)
	assert.Equal(t, 1500000, c.Mode().Baud, "the mode is applied first")
	assert.Contains(t, f.seen(), "PATCH /api/v1/slots/3/console")

	// A long line goes in several frames and ends in one Enter: the node
	// keeps the first 1024 characters of a line (as a tty's line editor
	// bounds it) and runs it once.
	long := "echo " + strings.Repeat("x", 3*sendFrame+5)
	r = bmcctl(t, "", "console", "3", "--send", long)
	require.Equal(t, 0, r.code, r.stderr)
	kept := long[:1024]
	f.waitOutput(t, 3, prompt+kept+"\r\n"+strings.TrimPrefix(kept, "echo ")+"\r\n"+prompt)
}

// TestConsoleOffSlot: a line sent to a slot that is off would be lost,
// so --send refuses it (unless forced) before changing anything; an
// attached session says why nothing appears.
func TestConsoleOffSlot(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	fastDrain(t)

	t.Run("send refused", func(t *testing.T) {
		for _, args := range [][]string{{"--send", "root"}, {"--send", "root", "--baud", "9600"}} {
			r := bmcctl(t, "", append([]string{"console", "2"}, args...)...)
			assert.Equal(t, 1, r.code, "%v", args)
			assert.Equal(t, "bmcctl: console: slot 2 is off, so the line would be lost: switch it on first ('bmcctl power on 2'), or give --force\n", r.stderr)
			assert.Empty(t, r.stdout)
		}
		assert.NotContains(t, f.seen(), "GET /api/v1/slots/2/console", "no session opened")
		assert.NotContains(t, f.seen(), "PATCH /api/v1/slots/2/console", "the line settings are left as they are")
	})

	t.Run("send forced", func(t *testing.T) {
		r := bmcctl(t, "", "console", "2", "--send", "root", "--force")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Empty(t, r.stderr)
		assert.Contains(t, f.seen(), "GET /api/v1/slots/2/console", "sent, to a node that is off")
		assert.Empty(t, f.history(t, 2), "which does not echo")
	})

	t.Run("attach says the slot is off", func(t *testing.T) {
		r := bmcctl(t, "", "console", "2", "--history", "0")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "Connected to slot 2 console ("+f.devices[2]+", 115200 8N1).\n"+
			// bmcd says so, once.
			"[bmcctl: slot 2 is off: nothing answers until it is switched on]\n", r.stderr)
	})

	t.Run("not for a slot that is on", func(t *testing.T) {
		f.boot(t, 2)
		r := bmcctl(t, "", "console", "2", "--history", "0")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "Connected to slot 2 console ("+f.devices[2]+", 115200 8N1).\n", r.stderr)
		r = bmcctl(t, "", "console", "2", "--send", "ls")
		require.Equal(t, 0, r.code, r.stderr)
		f.waitOutput(t, 2, "login: ls\r\nPassword: ")
	})
}

func TestConsoleModeCommand(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)

	r := bmcctl(t, "", "console", "2", "--baud", "1500000")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "slot 2 console: "+f.devices[2]+", 1500000 8N1\n", r.stdout)

	r = bmcctl(t, "", "console", "2", "--mode", "9600 7e2")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "slot 2 console: "+f.devices[2]+", 9600 7E2\n", r.stdout)

	r = bmcctl(t, "", "-o", "json", "console", "2", "--mode", "8N1", "--baud", "115200")
	require.Equal(t, 0, r.code, r.stderr)
	var s apitype.ConsoleState
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &s))
	assert.Equal(t, apitype.ConsoleMode{Baud: 115200, DataBits: 8, Parity: "none", StopBits: "1"}, s.Mode)

	r = bmcctl(t, "", "console", "2", "--baud", "7")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "bmcctl: invalid console mode: baud 7 not in 50..4000000\n", r.stderr, "the range is bmcd's to say")
	assert.Empty(t, r.stdout)
}

func TestConsoleErrors(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	fastDrain(t)
	const noSlot = "bmcctl: slot 9: no such slot (the board has slots 1-4)\n"
	for _, args := range [][]string{
		{"console", "9"},
		{"console", "9", "--log"},
		{"console", "9", "--send", "x"},
		{"console", "9", "--baud", "9600"},
		{"console", "9", "--read-only"},
	} {
		r := bmcctl(t, "", args...)
		assert.Equal(t, 1, r.code, "%v", args)
		assert.Equal(t, noSlot, r.stderr, "%v", args)
		assert.Empty(t, r.stdout, "%v", args)
	}

	t.Run("not logged in", func(t *testing.T) {
		require.NoError(t, deleteToken(f.srv.URL))
		for _, args := range [][]string{{"console", "3"}, {"console", "3", "--log"}, {"console", "3", "--send", "x"}} {
			r := bmcctl(t, "", args...)
			assert.Equal(t, 1, r.code, "%v", args)
			assert.Equal(t, "bmcctl: not logged in to "+f.srv.URL+": run 'bmcctl login'\n", r.stderr, "%v", args)
		}
	})
}

func TestConsoleUsageErrors(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	before := len(f.seen())
	tests := []struct {
		args []string
		want string
	}{
		{args: nil, want: "console: want one SLOT argument, got 0 arguments"},
		{args: []string{"1", "2"}, want: "console: want one SLOT argument, got 2 arguments"},
		{args: []string{"abc"}, want: `invalid slot "abc": want a number`},
		{args: []string{"3", "--tail", "10"}, want: "console: --tail goes with --log"},
		{args: []string{"3", "--send", "x", "--tail", "10"}, want: "console: --tail goes with --log"},
		{args: []string{"3", "--log", "--send", "x"}, want: "console: --send does not go with --log"},
		{args: []string{"3", "--log", "--baud", "9600"}, want: "console: --baud does not go with --log"},
		{args: []string{"3", "--log", "--tail", "-1"}, want: "invalid --tail -1: want a number of bytes, or 0 for all"},
		{args: []string{"3", "--send", "x", "--read-only"}, want: "console: --read-only does not go with --send"},
		{args: []string{"3", "--send", "x", "--history", "0"}, want: "console: --history does not go with --send"},
		{args: []string{"3", "--force"}, want: "console: --force goes with --send"},
		{args: []string{"3", "--log", "--force"}, want: "console: --force goes with --send"},
		{args: []string{"3", "--baud", "9600", "--force"}, want: "console: --force goes with --send"},
		{args: []string{"3", "--baud", "9600", "--history", "10"}, want: "console: --history does not go with --baud"},
		{args: []string{"3", "--mode", "8N1", "--escape", "^a"}, want: "console: --escape does not go with --mode"},
		{args: []string{"3", "--baud", "0"}, want: "invalid --baud 0: want a positive bit rate, e.g. 115200"},
		{args: []string{"3", "--baud", "9600", "--mode", "115200 8N1"}, want: `console: --baud 9600 and --mode "115200 8N1" disagree`},
		{args: []string{"3", "--mode", "fast"}, want: `invalid --mode "fast": want a bit rate and/or data bits, parity (N, O, E, M or S) and stop bits, e.g. "115200 8N1"`},
		{args: []string{"3", "--history", "-2"}, want: "invalid --history -2: want a number of bytes, 0 for none or -1 for all"},
		{args: []string{"3", "--escape", "x"}, want: `invalid --escape "x": want ^X for a control key (not ^C, ^H, ^I, ^J or ^M), or none`},
		{args: []string{"3", "--escape", "^C"}, want: `invalid --escape "^C": want ^X for a control key (not ^C, ^H, ^I, ^J or ^M), or none`},
	}
	for _, tt := range tests {
		r := bmcctl(t, "", append([]string{"console"}, tt.args...)...)
		assert.Equal(t, 2, r.code, "%v", tt.args)
		assert.Equal(t, "bmcctl: "+tt.want+"\n", r.stderr, "%v", tt.args)
		assert.Empty(t, r.stdout)
	}
	assert.Len(t, f.seen(), before, "a usage error sends nothing")
}

func TestConsoleAttachPiped(t *testing.T) {
	// Without a terminal, stdin is sent as it is (the escape key too)
	// and bmcctl ends shortly after its end, once the node is quiet.
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	fastDrain(t)
	f.boot(t, 3)
	history := f.history(t, 3)

	r := bmcctl(t, "root\r\recho \x1dq\r\x03", "console", "3")
	require.Equal(t, 0, r.code, r.stderr)
	require.True(t, strings.HasPrefix(r.stdout, history), "history first")
	echo := r.stdout[len(history):]
	assert.True(t, strings.HasPrefix(echo, "root\r\nPassword: \r\n"), "the node's echo: %q", echo)
	// Ctrl-] q went to the node (which shows no control keys but the
	// Ctrl-C): no escape without a terminal.
	assert.True(t, strings.HasSuffix(echo, prompt+"echo q\r\nq\r\n"+prompt+"^C\r\n"+prompt), "the node's echo: %q", echo)
	assert.Equal(t, "Connected to slot 3 console ("+f.devices[3]+", 115200 8N1).\n", r.stderr)

	r = bmcctl(t, "", "console", "3", "--history", "0")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stdout, "no history asked for")
}

// scriptedConsole is a bmcd whose slot 1 is on and whose console
// sessions send the history and msgs, then end with code: endings that
// the real server gives only under conditions a test cannot call up (a
// lost device, a slow client), so this one server is purpose-built.
func scriptedConsole(t *testing.T, history string, msgs []apitype.ConsoleMessage, code websocket.StatusCode) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/slots/1", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(apitype.Slot{Slot: 1, Power: "on"})
	})
	mux.HandleFunc("GET /api/v1/slots/1/console", func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		mode := apitype.ConsoleMode{Baud: 115200, DataBits: 8, Parity: "none", StopBits: "1"}
		hello, _ := json.Marshal(apitype.ConsoleMessage{Type: apitype.ConsoleHello, Slot: 1, Device: "/dev/ttyS1", Writable: r.URL.Query().Get("readonly") != "1", Mode: &mode})
		if ws.Write(r.Context(), websocket.MessageText, hello) != nil || ws.Write(r.Context(), websocket.MessageBinary, []byte(history)) != nil {
			return
		}
		for _, m := range msgs {
			data, _ := json.Marshal(m)
			if ws.Write(r.Context(), websocket.MessageText, data) != nil {
				return
			}
		}
		_ = ws.Close(code, "")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestConsoleAttachEnds(t *testing.T) {
	msgs := []apitype.ConsoleMessage{
		{Type: apitype.ConsoleMissed, Bytes: 1234},
		{Type: apitype.ConsoleNotice, Message: "/dev/ttyS1 lost: reopening"},
		{Type: "future", Message: "ignored"},
	}
	tests := []struct {
		name     string
		close    websocket.StatusCode
		wantCode int
		wantLast string
	}{
		{name: "normal closure", close: websocket.StatusNormalClosure, wantLast: "[bmcctl: bmcd closed the console]\n"},
		{name: "bmcd stopping", close: apitype.ConsoleCloseGone, wantCode: 1, wantLast: "bmcctl: console: bmcd is shutting down\n"},
		{name: "too slow", close: apitype.ConsoleCloseSlow, wantCode: 1, wantLast: "bmcctl: console: dropped: client too slow\n"},
		{name: "read-only", close: apitype.ConsoleCloseReadOnly, wantCode: 1, wantLast: "bmcctl: console: session is read-only\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := scriptedConsole(t, "old output\r\n", msgs, tt.close)
			isolate(t, srv.URL)
			fastDrain(t)
			require.NoError(t, saveToken(srv.URL, cachedToken{Token: anyToken, ExpiresAt: time.Now().Add(time.Hour)}))
			// Read-only, stdin is not read: the session lasts until bmcd
			// ends it.
			r := bmcctl(t, "", "console", "1", "--read-only")
			assert.Equal(t, tt.wantCode, r.code)
			assert.Equal(t, "old output\r\n", r.stdout)
			assert.Equal(t, "Connected to slot 1 console (/dev/ttyS1, 115200 8N1), read-only.\n"+
				"[bmcctl: missed 1234 bytes]\n"+
				"[bmcctl: /dev/ttyS1 lost: reopening]\n"+tt.wantLast, r.stderr)
		})
	}
}

func TestConsoleAttachInterrupted(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"console", "4", "--read-only"}, strings.NewReader(""), &stdout, &stderr)
	}()
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "Connected") }, 10*time.Second, 10*time.Millisecond)
	cancel() // Ctrl-C
	select {
	case code := <-done:
		assert.Equal(t, 130, code)
		assert.True(t, strings.HasSuffix(stderr.String(), "bmcctl: interrupted\n"), stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("console did not stop when interrupted")
	}
}

func TestEscapeScan(t *testing.T) {
	tests := []struct {
		name string
		in   []string // successive reads
		want string   // sent, with commands shown as <q> and <?>
	}{
		{name: "plain", in: []string{"ls\r"}, want: "ls\r"},
		{name: "detach", in: []string{"ls\r\x1dqmore"}, want: "ls\r<q>"},
		{name: "dot detaches too", in: []string{"\x1d."}, want: "<.>"},
		{name: "help, then on", in: []string{"a\x1d?b"}, want: "a<?>b"},
		{name: "escape twice sends one", in: []string{"\x1d\x1dx"}, want: "\x1dx"},
		{name: "escape then another key sends both", in: []string{"\x1dx\x03"}, want: "\x1dx\x03"},
		{name: "split across reads", in: []string{"a\x1d", "q"}, want: "a<q>"},
		{name: "split literal", in: []string{"\x1d", "\x1d"}, want: "\x1d"},
		{name: "ctrl-c is a key", in: []string{"\x03"}, want: "\x03"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &session{esc: 0x1d}
			var got strings.Builder
		reads:
			for _, in := range tt.in {
				b := []byte(in)
				for len(b) > 0 {
					out, cmd, rest := s.scan(b)
					got.Write(out)
					if cmd != 0 {
						got.WriteString("<" + string(cmd) + ">")
						if cmd != '?' {
							break reads
						}
					}
					b = rest
				}
			}
			assert.Equal(t, tt.want, got.String())
		})
	}
}

func TestParseConsoleMode(t *testing.T) {
	tests := []struct {
		in   string
		want apitype.ConsoleMode
	}{
		{in: "115200 8N1", want: apitype.ConsoleMode{Baud: 115200, DataBits: 8, Parity: "none", StopBits: "1"}},
		{in: "1500000", want: apitype.ConsoleMode{Baud: 1500000}},
		{in: "7e2", want: apitype.ConsoleMode{DataBits: 7, Parity: "even", StopBits: "2"}},
		{in: "9600,5O1.5", want: apitype.ConsoleMode{Baud: 9600, DataBits: 5, Parity: "odd", StopBits: "1.5"}},
		{in: " 8S1  300 ", want: apitype.ConsoleMode{Baud: 300, DataBits: 8, Parity: "space", StopBits: "1"}},
	}
	for _, tt := range tests {
		got, err := parseConsoleMode(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"", "8N1 8N1", "115200 9600", "9N1", "8X1", "8N3", "1 2 3", "-5"} {
		_, err := parseConsoleMode(bad)
		assert.Error(t, err, bad)
	}
	assert.Equal(t, "115200 8M2", formatConsoleMode(apitype.ConsoleMode{Baud: 115200, DataBits: 8, Parity: "mark", StopBits: "2"}))
	assert.Equal(t, "? ???", formatConsoleMode(apitype.ConsoleMode{}))
}

func TestParseEscape(t *testing.T) {
	for in, want := range map[string]escapeKey{"^]": 0x1d, "^a": 0x01, "^A": 0x01, "^\\": 0x1c, "^_": 0x1f, "none": 0, "NONE": 0} {
		got, err := parseEscape(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	assert.Equal(t, "Ctrl-]", escapeKey(0x1d).String())
	assert.Equal(t, "Ctrl-A", escapeKey(0x01).String())
}
