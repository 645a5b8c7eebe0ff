package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turingpi-oss/bmcd/api"
)

// fakeBMCD imitates bmcd's REST API v1 closely enough for the commands:
// a 4-slot board, user admin with password "secret".
type fakeBMCD struct {
	srv *httptest.Server

	mu       sync.Mutex
	token    string
	expires  time.Time
	slots    []api.Slot
	requests []string // "METHOD /path" of every request
	events   []api.Event
	// holdEvents keeps the event stream open after the events, as bmcd
	// does, until the client goes.
	holdEvents bool
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
	for n := 1; n <= 4; n++ {
		f.slots = append(f.slots, api.Slot{Slot: n, Power: "off", Policy: "last-state"})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { reply(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("POST /api/v1/auth/login", f.login)
	mux.HandleFunc("GET /api/v1/board", f.authed(func(w http.ResponseWriter, _ *http.Request) {
		reply(w, 200, api.BoardInfo{Profile: "sim", Model: "Simulated board", Slots: 4, Capabilities: []string{"reset"}, Version: "test"})
	}))
	mux.HandleFunc("GET /api/v1/slots", f.authed(func(w http.ResponseWriter, _ *http.Request) { reply(w, 200, f.slots) }))
	mux.HandleFunc("GET /api/v1/slots/{n}", f.authed(f.withSlot(func(w http.ResponseWriter, _ *http.Request, s *api.Slot) { reply(w, 200, s) })))
	mux.HandleFunc("PATCH /api/v1/slots/{n}", f.authed(f.withSlot(f.patch)))
	mux.HandleFunc("POST /api/v1/slots/{n}/power", f.authed(f.withSlot(f.power)))
	mux.HandleFunc("POST /api/v1/power", f.authed(f.powerAll))
	mux.HandleFunc("GET /api/v1/events", f.authed(f.stream))
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
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
	reply(w, status, api.ErrorBody{Error: api.ErrorDetail{Code: code, Message: msg}})
}

func (f *fakeBMCD) login(w http.ResponseWriter, r *http.Request) {
	var req api.LoginRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		replyError(w, 400, api.CodeBadRequest, "malformed JSON: "+err.Error())
		return
	}
	if req.Username != "admin" || req.Password != fakePassword {
		replyError(w, 401, api.CodeUnauthorized, "invalid user name or password")
		return
	}
	reply(w, 200, api.LoginResponse{Token: f.token, ExpiresAt: f.expires})
}

func (f *fakeBMCD) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+f.token {
			replyError(w, 401, api.CodeUnauthorized, "token is unknown or expired: log in again")
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		h(w, r)
	}
}

func (f *fakeBMCD) withSlot(h func(http.ResponseWriter, *http.Request, *api.Slot)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil {
			replyError(w, 400, api.CodeBadRequest, fmt.Sprintf("invalid slot %q: want a slot number", r.PathValue("n")))
			return
		}
		if n < 1 || n > len(f.slots) {
			replyError(w, 404, api.CodeNotFound, fmt.Sprintf("slot %d: no such slot (board has slots 1-%d)", n, len(f.slots)))
			return
		}
		h(w, r, &f.slots[n-1])
	}
}

func (f *fakeBMCD) power(w http.ResponseWriter, r *http.Request, s *api.Slot) {
	var req api.PowerRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		replyError(w, 400, api.CodeBadRequest, "malformed JSON: "+err.Error())
		return
	}
	switch req.Action {
	case "on", "off":
		s.Power, s.Requested = req.Action, req.Action
	case "reset", "cycle":
		if s.Power != "on" {
			replyError(w, 409, api.CodeSlotOff, fmt.Sprintf("slot %d is off", s.Slot))
			return
		}
	default:
		replyError(w, 400, api.CodeBadRequest, fmt.Sprintf("unknown action %q", req.Action))
		return
	}
	reply(w, 200, s)
}

func (f *fakeBMCD) powerAll(w http.ResponseWriter, r *http.Request) {
	var req api.PowerRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || (req.Action != "on" && req.Action != "off") {
		replyError(w, 400, api.CodeBadRequest, "bad power request")
		return
	}
	for i := range f.slots {
		f.slots[i].Power = req.Action
	}
	reply(w, 200, f.slots)
}

func (f *fakeBMCD) patch(w http.ResponseWriter, r *http.Request, s *api.Slot) {
	var p api.SlotPatch
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		replyError(w, 400, api.CodeBadRequest, "malformed JSON: "+err.Error())
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
