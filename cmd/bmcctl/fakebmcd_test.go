package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// fakeBMCD imitates bmcd's REST API v1 closely enough for the commands:
// a 4-slot board, user admin with password "secret".
type fakeBMCD struct {
	srv *httptest.Server

	mu sync.Mutex
	// token is the one valid token; logout revokes it and makes the
	// next login issue another.
	token    string
	revoked  int // tokens revoked so far
	expires  time.Time
	noLogout bool // answer logout as a bmcd without the endpoint: 404
	slots    []apitype.Slot
	requests []string // "METHOD /path" of every request
	events   []apitype.Event
	// holdEvents keeps the event stream open after the events, as bmcd
	// does, until the client goes.
	holdEvents bool

	// Consoles: each slot's history and line settings, every byte
	// clients wrote (all slots), messages sent after the history, and a
	// close status sent right after them (0: the session stays open).
	consoleLog      map[int][]byte
	consoleMode     map[int]apitype.ConsoleMode
	consoleInput    []byte
	consoleMessages []apitype.ConsoleMessage
	consoleClose    websocket.StatusCode
	// consoleEnd ends the open sessions with a close status.
	consoleEnd []chan websocket.StatusCode
}

const (
	fakePassword = "secret"
	fakeToken    = "tok-1"
)

func newFakeBMCD(t *testing.T) *fakeBMCD {
	t.Helper()
	f := &fakeBMCD{
		token:   fakeToken,
		expires: time.Now().Add(time.Hour).Truncate(time.Second),
	}
	f.consoleLog = map[int][]byte{}
	f.consoleMode = map[int]apitype.ConsoleMode{}
	for n := 1; n <= 4; n++ {
		f.slots = append(f.slots, apitype.Slot{Slot: n, Power: "off", Policy: "last-state"})
		f.consoleMode[n] = apitype.ConsoleMode{Baud: 115200, DataBits: 8, Parity: "none", StopBits: "1"}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { reply(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("POST /api/v1/auth/login", f.login)
	mux.HandleFunc("POST /api/v1/auth/logout", f.authed(f.logout))
	mux.HandleFunc("GET /api/v1/board", f.authed(func(w http.ResponseWriter, _ *http.Request) {
		reply(w, 200, apitype.BoardInfo{Profile: "sim", Model: "Simulated board", Slots: 4, Capabilities: []string{"reset"}, Version: "test"})
	}))
	mux.HandleFunc("GET /api/v1/slots", f.authed(func(w http.ResponseWriter, _ *http.Request) { reply(w, 200, f.slots) }))
	mux.HandleFunc("GET /api/v1/slots/{n}", f.authed(f.withSlot(func(w http.ResponseWriter, _ *http.Request, s *apitype.Slot) { reply(w, 200, s) })))
	mux.HandleFunc("PATCH /api/v1/slots/{n}", f.authed(f.withSlot(f.patch)))
	mux.HandleFunc("POST /api/v1/slots/{n}/power", f.authed(f.withSlot(f.power)))
	mux.HandleFunc("POST /api/v1/power", f.authed(f.powerAll))
	mux.HandleFunc("GET /api/v1/events", f.authed(f.stream))
	mux.HandleFunc("GET /api/v1/slots/{n}/console/log", f.authed(f.withSlot(f.consoleHistory)))
	mux.HandleFunc("GET /api/v1/slots/{n}/console", f.authed(f.withSlot(f.console)))
	mux.HandleFunc("PATCH /api/v1/slots/{n}/console", f.authed(f.withSlot(f.patchConsole)))
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// switchOn sets slot n's measured power to on, as a node that boots and
// writes to its console is.
func (f *fakeBMCD) switchOn(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slots[n-1].Power = "on"
}

// seen returns the requests received so far.
func (f *fakeBMCD) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func replyError(w http.ResponseWriter, status int, code, msg string) {
	reply(w, status, apitype.ErrorBody{Error: apitype.ErrorDetail{Code: code, Message: msg}})
}

func (f *fakeBMCD) login(w http.ResponseWriter, r *http.Request) {
	var req apitype.LoginRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		replyError(w, 400, apitype.CodeBadRequest, "malformed JSON: "+err.Error())
		return
	}
	if req.Username != "admin" || req.Password != fakePassword {
		replyError(w, 401, apitype.CodeUnauthorized, "invalid user name or password")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	reply(w, 200, apitype.LoginResponse{Token: f.token, ExpiresAt: f.expires})
}

// logout revokes the token, as bmcd does: 204, and the token is refused
// from then on.
func (f *fakeBMCD) logout(w http.ResponseWriter, _ *http.Request) {
	if f.noLogout {
		replyError(w, 404, apitype.CodeNotFound, "not found")
		return
	}
	f.revoked++
	f.token = fmt.Sprintf("tok-%d", f.revoked+1)
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeBMCD) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+f.token {
			replyError(w, 401, apitype.CodeUnauthorized, "token is unknown or expired: log in again")
			return
		}
		h(w, r)
	}
}

func (f *fakeBMCD) withSlot(h func(http.ResponseWriter, *http.Request, *apitype.Slot)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil {
			replyError(w, 400, apitype.CodeBadRequest, fmt.Sprintf("invalid slot %q: want a slot number", r.PathValue("n")))
			return
		}
		if n < 1 || n > len(f.slots) {
			replyError(w, 404, apitype.CodeNotFound, fmt.Sprintf("slot %d: no such slot (board has slots 1-%d)", n, len(f.slots)))
			return
		}
		h(w, r, &f.slots[n-1])
	}
}

func (f *fakeBMCD) power(w http.ResponseWriter, r *http.Request, s *apitype.Slot) {
	var req apitype.PowerRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		replyError(w, 400, apitype.CodeBadRequest, "malformed JSON: "+err.Error())
		return
	}
	switch req.Action {
	case "on", "off":
		s.Power, s.Requested = req.Action, req.Action
	case "reset", "cycle":
		if s.Power != "on" {
			replyError(w, 409, apitype.CodeSlotOff, fmt.Sprintf("slot %d is off", s.Slot))
			return
		}
	default:
		replyError(w, 400, apitype.CodeBadRequest, fmt.Sprintf("unknown action %q", req.Action))
		return
	}
	reply(w, 200, s)
}

func (f *fakeBMCD) powerAll(w http.ResponseWriter, r *http.Request) {
	var req apitype.PowerRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || (req.Action != "on" && req.Action != "off") {
		replyError(w, 400, apitype.CodeBadRequest, "bad power request")
		return
	}
	for i := range f.slots {
		f.slots[i].Power = req.Action
	}
	reply(w, 200, f.slots)
}

func (f *fakeBMCD) patch(w http.ResponseWriter, r *http.Request, s *apitype.Slot) {
	var p apitype.SlotPatch
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		replyError(w, 400, apitype.CodeBadRequest, "malformed JSON: "+err.Error())
		return
	}
	if p.Name != nil {
		s.Name = *p.Name
	}
	if p.Module != nil {
		s.Module = *p.Module
	}
	if p.Policy != nil {
		s.Policy = *p.Policy
	}
	reply(w, 200, s)
}

// stream sends the queued events, then holds the stream open or ends it
// as bmcd does when it shuts down.
func (f *fakeBMCD) stream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	var b strings.Builder
	b.WriteString(": bmcd events\n\n")
	for _, e := range f.events {
		data, _ := json.Marshal(e)
		fmt.Fprintf(&b, "id: %d\nevent: %s\ndata: %s\n\n: ping\n\n", e.ID, e.Type, data)
	}
	_, _ = w.Write([]byte(b.String()))
	if f.holdEvents {
		w.(http.Flusher).Flush()
		f.mu.Unlock() // let other requests through while the stream is open
		<-r.Context().Done()
		f.mu.Lock()
	}
}

func (f *fakeBMCD) consoleState(n int) apitype.ConsoleState {
	return apitype.ConsoleState{
		Slot: n, Device: fmt.Sprintf("/dev/ttyS%d", n), Mode: f.consoleMode[n], Open: true,
		BytesRead: int64(len(f.consoleLog[n])), Buffered: len(f.consoleLog[n]), Clients: len(f.consoleEnd),
	}
}

// lastBytes is the last n bytes of b; n <= 0 or absent: all of b.
func lastBytes(b []byte, param string) ([]byte, error) {
	if param == "" {
		return b, nil
	}
	n, err := strconv.ParseInt(param, 10, 64)
	if err != nil {
		return nil, err
	}
	if n > 0 && n < int64(len(b)) {
		return b[int64(len(b))-n:], nil
	}
	return b, nil
}

func (f *fakeBMCD) consoleHistory(w http.ResponseWriter, r *http.Request, s *apitype.Slot) {
	b, err := lastBytes(f.consoleLog[s.Slot], r.URL.Query().Get("tail"))
	if err != nil {
		replyError(w, 400, apitype.CodeBadRequest, "invalid tail")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(b)
}

func (f *fakeBMCD) patchConsole(w http.ResponseWriter, r *http.Request, s *apitype.Slot) {
	var m apitype.ConsoleMode
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		replyError(w, 400, apitype.CodeBadRequest, "malformed JSON: "+err.Error())
		return
	}
	if m.Baud != 0 && (m.Baud < 50 || m.Baud > 4000000) {
		replyError(w, 400, apitype.CodeBadRequest, fmt.Sprintf("baud %d: want 50 to 4000000", m.Baud))
		return
	}
	cur := f.consoleMode[s.Slot]
	if m.Baud != 0 {
		cur.Baud = m.Baud
	}
	if m.DataBits != 0 {
		cur.DataBits = m.DataBits
	}
	if m.Parity != "" {
		cur.Parity = m.Parity
	}
	if m.StopBits != "" {
		cur.StopBits = m.StopBits
	}
	f.consoleMode[s.Slot] = cur
	reply(w, 200, f.consoleState(s.Slot))
}

// console answers the console's state, or with an Upgrade header runs a
// session whose node echoes what it is sent, as a shell at a prompt
// does: Enter (CR) as CR LF, control keys as ^X, Ctrl-C as "^C" and a
// new line.
func (f *fakeBMCD) console(w http.ResponseWriter, r *http.Request, s *apitype.Slot) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		reply(w, 200, f.consoleState(s.Slot))
		return
	}
	n := s.Slot
	history, err := lastBytes(f.consoleLog[n], r.URL.Query().Get("history"))
	if r.URL.Query().Get("history") == "0" {
		history = nil
	}
	if err != nil {
		replyError(w, 400, apitype.CodeBadRequest, "invalid history")
		return
	}
	mode := f.consoleMode[n]
	messages, closeWith := f.consoleMessages, f.consoleClose
	end := make(chan websocket.StatusCode, 1)
	f.consoleEnd = append(f.consoleEnd, end)
	writable := r.URL.Query().Get("readonly") != "1"
	f.mu.Unlock() // let other requests through while the session is open
	defer func() {
		f.mu.Lock()
		f.consoleEnd = slices.DeleteFunc(f.consoleEnd, func(c chan websocket.StatusCode) bool { return c == end })
	}()

	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ctx := r.Context()
	send := func(typ websocket.MessageType, v any) bool {
		data, ok := v.([]byte)
		if !ok {
			data, _ = json.Marshal(v)
		}
		return ws.Write(ctx, typ, data) == nil
	}
	if !send(websocket.MessageText, apitype.ConsoleMessage{Type: apitype.ConsoleHello, Slot: n, Device: fmt.Sprintf("/dev/ttyS%d", n), Writable: writable, Mode: &mode}) {
		return
	}
	if len(history) > 0 && !send(websocket.MessageBinary, history) {
		return
	}
	for _, m := range messages {
		if !send(websocket.MessageText, m) {
			return
		}
	}
	if closeWith != 0 {
		_ = ws.Close(closeWith, "")
		return
	}
	frames := make(chan []byte)
	go func() {
		defer close(frames)
		for {
			typ, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			if typ == websocket.MessageBinary {
				select {
				case frames <- data:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	for {
		select {
		case code := <-end:
			_ = ws.Close(code, "")
			return
		case data, ok := <-frames:
			if !ok {
				return
			}
			if !writable {
				_ = ws.Close(apitype.ConsoleCloseReadOnly, "read-only session")
				return
			}
			f.mu.Lock()
			f.consoleInput = append(f.consoleInput, data...)
			f.mu.Unlock()
			if !send(websocket.MessageBinary, echo(data)) {
				return
			}
		}
	}
}

// echo is what a shell at a prompt shows for keys.
func echo(keys []byte) []byte {
	var b []byte
	for _, k := range keys {
		switch {
		case k == '\r':
			b = append(b, "\r\n"...)
		case k == 0x03:
			b = append(b, "^C\r\n"...)
		case k < 0x20 || k == 0x7f:
			b = append(b, '^', k^0x40)
		default:
			b = append(b, k)
		}
	}
	return b
}

// endConsoles ends every open console session with code, as bmcd does
// when it stops (apitype.ConsoleCloseGone).
func (f *fakeBMCD) endConsoles(code websocket.StatusCode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, end := range f.consoleEnd {
		select {
		case end <- code:
		default:
		}
	}
}

// typed returns every byte clients wrote to the consoles.
func (f *fakeBMCD) typed() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte(nil), f.consoleInput...)
}

// loginFake logs in to f and fails the test if that does not work.
func loginFake(t *testing.T, f *fakeBMCD) {
	t.Helper()
	r := bmcctl(t, fakePassword+"\n", "login", "--password-stdin")
	require.Equal(t, 0, r.code, r.stderr)
}
