package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/turingpi-oss/bmcd/api"
	"github.com/turingpi-oss/bmcd/api/auth"
	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/hal/sim"
	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

// testPassword is the admin password of the test bmcd.
const testPassword = "secret"

// testBMCD is bmcd's real API server on the simulated 4-slot board, in
// process, with its state in a temporary directory. The commands' tests
// run against it, so what they pin is what bmcd answers.
type testBMCD struct {
	srv   *httptest.Server
	board *bmc.Board
	stop  context.CancelFunc
	// closeConsoles closes the consoles, once, as bmcd does when it stops.
	closeConsoles func() error
	// devices are the slots' console devices, by slot.
	devices map[int]string

	mu       sync.Mutex
	requests []string // "METHOD /path" of every request
	streams  int      // event streams bmcd has subscribed to the board
}

// newBMCD starts the test bmcd; wrap, if set, stands in front of the
// server, for a test that needs bmcd to misbehave in one way.
func newBMCD(t *testing.T, wrap ...func(http.Handler) http.Handler) *testBMCD {
	t.Helper()
	dir := t.TempDir()
	module := usbsim.CM4()
	module.Timing = usbsim.Timing{Disconnect: 10 * time.Millisecond, SecondStage: 50 * time.Millisecond, MassStorage: 50 * time.Millisecond}
	hw, err := sim.Open(&sim.AssemblyOpts{StateDir: dir, Module: module, EMMCBytes: 1 << 20, FirmwareDir: t.TempDir()})
	require.NoError(t, err)
	consoles, err := bmc.OpenConsoles(bmc.ConsoleConfig{Wiring: hw.Consoles})
	if err != nil {
		assert.NoError(t, hw.Close())
		t.Fatal(err)
	}
	board, err := bmc.New(bmc.Config{HW: hw.Board, Consoles: consoles, StateDir: dir, StaggerDelay: time.Millisecond, CycleDelay: time.Millisecond})
	if err != nil {
		assert.NoError(t, consoles.Close())
		assert.NoError(t, hw.Close())
		t.Fatal(err)
	}
	closeConsoles := sync.OnceValue(consoles.Close)
	// Last opened, first closed: the board, then the consoles, then the
	// hardware under them.
	t.Cleanup(func() {
		assert.NoError(t, board.Close())
		assert.NoError(t, closeConsoles())
		assert.NoError(t, hw.Close())
	})
	// As bmcd does before it serves: the slots' power is measured from
	// here on, so the first event is a change someone made.
	require.NoError(t, board.RestorePower(t.Context()))
	authn, _, err := auth.New(auth.Config{StateDir: dir, Password: auth.PasswordSource{Clear: testPassword}, BcryptCost: bcrypt.MinCost})
	require.NoError(t, err)
	s, err := api.New(api.Config{Board: board, Auth: authn, Version: "test", KeepAlive: 50 * time.Millisecond})
	require.NoError(t, err)
	var h http.Handler = s
	for _, w := range wrap {
		h = w(h)
	}
	base, stop := context.WithCancel(context.Background())
	b := &testBMCD{board: board, stop: stop, closeConsoles: closeConsoles, devices: map[int]string{}}
	for _, p := range hw.Consoles {
		b.devices[p.Slot] = p.Device
	}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.requests = append(b.requests, r.Method+" "+r.URL.Path)
		b.mu.Unlock()
		if r.URL.Path == "/api/v1/events" {
			w = &streamWriter{ResponseWriter: w, b: b}
		}
		h.ServeHTTP(w, r)
	}))
	b.srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	b.srv.Start()
	// Streams and console sessions end before the board closes.
	t.Cleanup(b.srv.Close)
	t.Cleanup(stop)
	return b
}

// shutdown ends every request in progress as bmcd does when it stops:
// the event streams end cleanly.
func (b *testBMCD) shutdown() { b.stop() }

// seen returns the requests received so far.
func (b *testBMCD) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.requests)
}

// switchOn powers slot n on, as a user on another client would.
func (b *testBMCD) switchOn(t *testing.T, n int) {
	t.Helper()
	_, err := b.board.Power(context.Background(), n, bmc.On, bmc.PowerOpts{})
	require.NoError(t, err)
}

// token is the token bmcctl keeps for the test bmcd.
func (b *testBMCD) token(t *testing.T) string {
	t.Helper()
	tok, err := loadToken(b.srv.URL)
	require.NoError(t, err)
	require.NotEmpty(t, tok, "logged in")
	return tok
}

// withoutLogout answers logout as a bmcd older than the endpoint: 404.
func withoutLogout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/auth/logout" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"Not Found"}}` + "\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// streaming reports whether an event stream is subscribed.
func (b *testBMCD) streaming() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.streams > 0
}

// streamWriter counts an event stream once bmcd writes its first line,
// which it does after subscribing the stream to the board's events.
type streamWriter struct {
	http.ResponseWriter
	b       *testBMCD
	counted bool
}

func (w *streamWriter) Write(p []byte) (int, error) {
	if !w.counted {
		w.counted = true
		w.b.mu.Lock()
		w.b.streams++
		w.b.mu.Unlock()
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets bmcd flush the stream through the wrapper.
func (w *streamWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// history is slot's console output as bmcd keeps it.
func (b *testBMCD) history(t *testing.T, slot int) string {
	t.Helper()
	c, err := b.board.Console(slot)
	require.NoError(t, err)
	return string(c.History(0))
}

// boot switches slot on and waits for its node's login prompt, after
// which the node echoes what it receives.
func (b *testBMCD) boot(t *testing.T, slot int) {
	t.Helper()
	b.switchOn(t, slot)
	b.waitOutput(t, slot, "login: ")
}

// waitOutput waits until slot's console output ends with want.
func (b *testBMCD) waitOutput(t *testing.T, slot int, want string) {
	t.Helper()
	if !assert.Eventually(t, func() bool { return strings.HasSuffix(b.history(t, slot), want) }, 30*time.Second, 5*time.Millisecond) {
		h := b.history(t, slot)
		t.Fatalf("slot %d's console output does not end with %q: ...%q", slot, abbrev(want), abbrev(h[max(0, len(h)-200):]))
	}
}

// abbrev shortens s for a failure message.
func abbrev(s string) string {
	if len(s) > 200 {
		return s[:100] + "..." + s[len(s)-100:]
	}
	return s
}
