package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// result is one in-process bmcctl run.
type result struct {
	stdout, stderr string
	code           int
}

// isolate points bmcctl's config directory at a fresh temporary one and
// BMC_HOST at host.
func isolate(t *testing.T, host string) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("BMC_HOST", host)
	t.Setenv("BMC_PASSWORD", "")
}

// bmcctl runs a command line in-process, as main would.
func bmcctl(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	code := run(ctx, args, strings.NewReader(stdin), &stdout, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// login logs in to f and fails the test if that does not work.
func login(t *testing.T, f *testBMCD) {
	t.Helper()
	r := bmcctl(t, testPassword+"\n", "login", "--password-stdin")
	require.Equal(t, 0, r.code, r.stderr)
}

func TestLoginThenPowerOn(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)

	r := bmcctl(t, testPassword+"\n", "login", "--password-stdin")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	assert.Regexp(t, `^Logged in to `+f.srv.URL+`; token valid until \d{4}-\d\d-\d\d \d\d:\d\d \S+\n$`, r.stdout)
	tok, err := loadToken(f.srv.URL)
	require.NoError(t, err)
	assert.NotEmpty(t, tok, "bmcd's token is kept")

	r = bmcctl(t, "", "power", "on", "3")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "slot 3: on\n", r.stdout)
	assert.Empty(t, r.stderr)

	r = bmcctl(t, "", "power", "status")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "SLOT  POWER\n1     off\n2     off\n3     on\n4     off\n", r.stdout)

	r = bmcctl(t, "", "-o", "json", "power", "status", "3")
	require.Equal(t, 0, r.code, r.stderr)
	var s apitype.Slot
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &s))
	assert.Equal(t, "on", s.Power)
}

func TestCommands(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // exact, unless "" (then not checked)
		wantStderr string // exact
	}{
		{name: "power on all", args: []string{"power", "on", "all"}, wantStdout: "slot 1: on\nslot 2: on\nslot 3: on\nslot 4: on\n"},
		{name: "power off all", args: []string{"power", "off", "all"}, wantStdout: "slot 1: off\nslot 2: off\nslot 3: off\nslot 4: off\n"},
		{name: "power on 2", args: []string{"power", "on", "2"}, wantStdout: "slot 2: on\n"},
		{name: "reset 2", args: []string{"power", "reset", "2"}, wantStdout: "slot 2: on\n"},
		{name: "reset of a slot that is off", args: []string{"power", "reset", "1", "--force"}, wantCode: 1, wantStderr: "bmcctl: reset slot 1: the slot is off\n"},
		{name: "out of range slot is bmcd's call", args: []string{"power", "on", "9"}, wantCode: 1, wantStderr: "bmcctl: slot 9: no such slot (the board has slots 1-4)\n"},
		{name: "status of a missing slot", args: []string{"power", "status", "0"}, wantCode: 1, wantStderr: "bmcctl: slot 0: no such slot (the board has slots 1-4)\n"},
		{name: "slot set", args: []string{"slot", "set", "2", "--name", "k3s", "--module", "CM4", "--policy", "always-on"}, wantStdout: "slot 2: name k3s, module CM4, policy always-on\n"},
		{name: "board", args: []string{"board"}, wantStdout: "Model:         Simulated board (4 slots)\nProfile:       sim\nSlots:         4\nCapabilities:  reset, usb-boot, usb-route, presence, save-power-defaults\nbmcd:          test\n"},
		{name: "version", args: []string{"version"}, wantStdout: "dev\n"},
		{name: "json slots", args: []string{"-o", "json", "slots"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bmcctl(t, "", tt.args...)
			assert.Equal(t, tt.wantCode, r.code)
			assert.Equal(t, tt.wantStderr, r.stderr)
			if tt.wantStdout != "" {
				assert.Equal(t, tt.wantStdout, r.stdout)
			}
			if tt.wantCode != 0 {
				assert.Empty(t, r.stdout)
			}
		})
	}

	t.Run("slots table", func(t *testing.T) {
		r := bmcctl(t, "", "slots")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, strings.Join([]string{
			"SLOT  NAME  MODULE  POWER  PRESENT  POLICY",
			"1     -     CM4     off    yes      always-off",
			"2     k3s   CM4     on     yes      always-on",
			"3     -     CM4     off    yes      always-off",
			"4     -     CM4     off    yes      always-off",
			"",
		}, "\n"), r.stdout)
	})
}

// TestJSONSlotsHasEveryField: -o json shows every field of a slot, the
// empty and false ones too, as README lists them.
func TestJSONSlotsHasEveryField(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	want := []string{"slot", "name", "module", "power", "present", "policy", "requested", "self", "busy", "power_changed_at"}
	for _, args := range [][]string{{"-o", "json", "slots"}, {"-o", "json", "power", "status", "2"}} {
		r := bmcctl(t, "", args...)
		require.Equal(t, 0, r.code, r.stderr)
		var slots []map[string]any
		if args[2] == "slots" {
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &slots), r.stdout)
			require.Len(t, slots, 4)
		} else {
			var one map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &one), r.stdout)
			slots = append(slots, one)
		}
		for _, s := range slots {
			for _, k := range want {
				assert.Contains(t, s, k, "%v: slot %v", args, s["slot"])
			}
		}
	}
}

func TestUsageErrors(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	before := len(f.seen())

	tests := []struct {
		name string
		args []string
		want string // stderr
	}{
		{name: "slot not a number", args: []string{"power", "on", "abc"}, want: `bmcctl: invalid slot "abc": want a number or "all"` + "\n"},
		{name: "unknown action", args: []string{"power", "toggle", "3"}, want: `bmcctl: power: unknown action "toggle": want on, off, reset, cycle or status` + "\n"},
		{name: "missing action", args: []string{"power"}, want: "bmcctl: power: missing action: on, off, reset, cycle or status\n"},
		{name: "on needs a slot", args: []string{"power", "on"}, want: `bmcctl: power on: name a slot, or "all" for every slot` + "\n"},
		{name: "off needs a slot", args: []string{"power", "off"}, want: `bmcctl: power off: name a slot, or "all" for every slot` + "\n"},
		{name: "off --force needs a slot", args: []string{"power", "off", "--force"}, want: `bmcctl: power off: name a slot, or "all" for every slot` + "\n"},
		{name: "reset needs a slot", args: []string{"power", "reset"}, want: `bmcctl: power reset: name a slot, or "all" for every slot` + "\n"},
		{name: "cycle needs a slot", args: []string{"power", "cycle"}, want: `bmcctl: power cycle: name a slot, or "all" for every slot` + "\n"},
		{name: "two slots", args: []string{"power", "on", "1", "2"}, want: `bmcctl: power on: unexpected argument "2"` + "\n"},
		{name: "force is not for on", args: []string{"power", "on", "1", "--force"}, want: "bmcctl: unknown flag: --force\n"},
		{name: "unknown command without a likely meaning", args: []string{"frobnicate"}, want: `bmcctl: unknown command "frobnicate" for "bmcctl"; run 'bmcctl --help'` + "\n"},
		{name: "unknown command", args: []string{"pwoer", "on"}, want: `bmcctl: unknown command "pwoer" for "bmcctl"; did you mean "power"?` + "\n"},
		{name: "unknown subcommand", args: []string{"slot", "get", "1"}, want: `bmcctl: unknown command "get" for "bmcctl slot": want set` + "\n"},
		{name: "unknown flag", args: []string{"slots", "--bogus"}, want: "bmcctl: unknown flag: --bogus\n"},
		{name: "extra argument", args: []string{"slots", "1"}, want: `bmcctl: slots: unexpected argument "1"` + "\n"},
		{name: "bad output", args: []string{"-o", "yaml", "slots"}, want: `bmcctl: invalid --output "yaml": want table or json` + "\n"},
		{name: "bad timeout", args: []string{"--timeout", "soon", "slots"}, want: `bmcctl: invalid argument "soon" for "--timeout" flag: time: invalid duration "soon"` + "\n"},
		{name: "bad host", args: []string{"--host", "ftp://x", "slots"}, want: `bmcctl: invalid --host "ftp://x": scheme must be http or https` + "\n"},
		{name: "slot set without slot", args: []string{"slot", "set", "--name", "x"}, want: "bmcctl: slot set: want one SLOT argument, got 0 arguments\n"},
		{name: "slot set nothing", args: []string{"slot", "set", "1"}, want: "bmcctl: slot set: nothing to change: give --name, --module or --policy\n"},
		{name: "slot set bad policy", args: []string{"slot", "set", "1", "--policy", "sometimes"}, want: `bmcctl: invalid --policy "sometimes": want always-off, always-on or last-state` + "\n"},
		{name: "completion needs a shell", args: []string{"completion", "tcsh"}, want: `bmcctl: unknown command "tcsh" for "bmcctl completion": want bash, fish, powershell or zsh` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bmcctl(t, "", tt.args...)
			assert.Equal(t, 2, r.code)
			assert.Equal(t, tt.want, r.stderr)
			assert.Empty(t, r.stdout)
		})
	}
	assert.Len(t, f.seen(), before, "a usage error sends nothing")
}

func TestNotLoggedIn(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	want := "bmcctl: not logged in to " + f.srv.URL + ": run 'bmcctl login'\n"

	t.Run("no token", func(t *testing.T) {
		for _, args := range [][]string{{"power", "on", "3"}, {"slots"}, {"board"}, {"events"}, {"slot", "set", "1", "--name", "x"}} {
			r := bmcctl(t, "", args...)
			assert.Equal(t, 1, r.code, "%v", args)
			assert.Equal(t, want, r.stderr, "%v", args)
			assert.Empty(t, r.stdout)
		}
	})

	t.Run("a refused token is dropped", func(t *testing.T) {
		require.NoError(t, saveToken(f.srv.URL, cachedToken{Token: "revoked", ExpiresAt: time.Now().Add(time.Hour)}))
		require.NoError(t, saveToken("http://other", cachedToken{Token: "keep", ExpiresAt: time.Now().Add(time.Hour)}))
		r := bmcctl(t, "", "power", "status")
		assert.Equal(t, 1, r.code)
		assert.Equal(t, want, r.stderr)
		has, err := hasToken(f.srv.URL)
		require.NoError(t, err)
		assert.False(t, has)
		tok, err := loadToken("http://other")
		require.NoError(t, err)
		assert.Equal(t, "keep", tok, "other hosts' tokens are kept")
	})

	t.Run("an expired token is not sent", func(t *testing.T) {
		login(t, f)
		plantToken(t, f.srv.URL, cachedToken{Token: f.token(t), ExpiresAt: time.Now().Add(-time.Second)})
		r := bmcctl(t, "", "slots")
		assert.Equal(t, want, r.stderr)
	})

	t.Run("wrong password", func(t *testing.T) {
		r := bmcctl(t, "guess\n", "login", "--password-stdin")
		assert.Equal(t, 1, r.code)
		assert.Equal(t, "bmcctl: log in to "+f.srv.URL+": wrong user name or password\n", r.stderr)
		assert.Empty(t, r.stdout)
	})

	t.Run("no password", func(t *testing.T) {
		r := bmcctl(t, "", "login")
		assert.Equal(t, 1, r.code)
		assert.Equal(t, "bmcctl: no password on stdin: pipe it in, or set BMC_PASSWORD\n", r.stderr)
	})
}

func TestLoginSources(t *testing.T) {
	f := newBMCD(t)
	tests := []struct {
		name, env, stdin string
		args             []string
		wantCode         int
	}{
		{name: "stdin without a terminal", stdin: testPassword + "\n"},
		{name: "CRLF and no final newline", stdin: testPassword + "\r\n"},
		{name: "no newline", stdin: testPassword},
		{name: "BMC_PASSWORD", env: testPassword},
		{name: "--password-stdin wins over BMC_PASSWORD", env: "wrong", stdin: testPassword + "\n", args: []string{"--password-stdin"}},
		{name: "only the first line", stdin: testPassword + "\nmore\n"},
		{name: "user", stdin: testPassword + "\n", args: []string{"--user", "root"}, wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t, f.srv.URL)
			t.Setenv("BMC_PASSWORD", tt.env)
			r := bmcctl(t, tt.stdin, append([]string{"login"}, tt.args...)...)
			assert.Equal(t, tt.wantCode, r.code, r.stderr)
		})
	}
}

func TestLogout(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	old := f.token(t)
	r := bmcctl(t, "", "logout")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Logged out of "+f.srv.URL+"; bmcd revoked the token\n", r.stdout)
	assert.Empty(t, r.stderr)
	assert.Contains(t, f.seen(), "POST /api/v1/auth/logout")
	has, err := hasToken(f.srv.URL)
	require.NoError(t, err)
	assert.False(t, has, "the token is forgotten")

	// The old token, had anyone kept it, no longer works.
	require.NoError(t, saveToken(f.srv.URL, cachedToken{Token: old, ExpiresAt: time.Now().Add(time.Hour)}))
	r = bmcctl(t, "", "slots")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "bmcctl: not logged in to "+f.srv.URL+": run 'bmcctl login'\n", r.stderr)

	before := len(f.seen())
	r = bmcctl(t, "", "logout")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Not logged in to "+f.srv.URL+"\n", r.stdout)
	assert.Len(t, f.seen(), before, "nothing to revoke, nothing sent")
}

// anyToken is a token where bmcd never gets to check it.
const anyToken = "tok-1"

func TestLogoutFailures(t *testing.T) {
	expires := time.Date(2099, 1, 2, 3, 4, 0, 0, time.UTC)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	unreachable := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())

	tests := []struct {
		name       string
		old        bool   // bmcd has no logout endpoint
		down       bool   // bmcd cannot be reached
		token      string // cached
		wantCode   int
		wantStdout string // after "Logged out of URL"
		wantStderr string // with URL for the address
	}{
		{name: "token already refused", token: "revoked", wantStdout: "; bmcd no longer accepted the token\n"},
		{name: "bmcd without logout", old: true, token: anyToken, wantCode: 1,
			wantStderr: "bmcctl: token forgotten here but not revoked on bmcd (it stays valid until EXPIRES): bmcd at URL cannot revoke tokens (it is older than this bmcctl)\n"},
		{name: "bmcd unreachable", down: true, token: anyToken, wantCode: 1,
			wantStderr: "bmcctl: token forgotten here but not revoked on bmcd (it stays valid until EXPIRES): cannot reach bmcd at URL: connection refused\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var wrap []func(http.Handler) http.Handler
			if tt.old {
				wrap = append(wrap, withoutLogout)
			}
			f := newBMCD(t, wrap...)
			url := f.srv.URL
			if tt.down {
				url = unreachable
			}
			isolate(t, url)
			require.NoError(t, saveToken(url, cachedToken{Token: tt.token, ExpiresAt: expires}))
			r := bmcctl(t, "", "logout")
			assert.Equal(t, tt.wantCode, r.code)
			want := strings.NewReplacer("URL", url, "EXPIRES", expires.Local().Format("2006-01-02 15:04 MST")).Replace(tt.wantStderr)
			assert.Equal(t, want, r.stderr)
			if tt.wantStdout != "" {
				assert.Equal(t, "Logged out of "+url+tt.wantStdout, r.stdout)
			} else {
				assert.Empty(t, r.stdout)
			}
			has, err := hasToken(url)
			require.NoError(t, err)
			assert.False(t, has, "the token is forgotten whatever bmcd said")
		})
	}

	t.Run("expired token", func(t *testing.T) {
		f := newBMCD(t)
		isolate(t, f.srv.URL)
		// Written as a cache left from long ago: saveToken drops
		// expired entries.
		path, err := tokenPath()
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
		old, err := json.Marshal(map[string]cachedToken{f.srv.URL: {Token: anyToken, ExpiresAt: time.Now().Add(-time.Hour)}})
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, old, 0o600))
		r := bmcctl(t, "", "logout")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "Logged out of "+f.srv.URL+"; the token had expired\n", r.stdout)
		assert.NotContains(t, f.seen(), "POST /api/v1/auth/logout", "an expired token needs no revoking")
		has, err := hasToken(f.srv.URL)
		require.NoError(t, err)
		assert.False(t, has)
	})
}

func TestHostKeysTheToken(t *testing.T) {
	f := newBMCD(t)
	isolate(t, "")
	// The same daemon named three ways shares one cache entry.
	host := strings.TrimPrefix(f.srv.URL, "http://")
	r := bmcctl(t, testPassword+"\n", "--host", host, "login")
	require.Equal(t, 0, r.code, r.stderr)
	for _, h := range []string{host, f.srv.URL, f.srv.URL + "/", "HTTP://" + host} {
		r := bmcctl(t, "", "--host", h, "power", "status", "1")
		assert.Equal(t, 0, r.code, "%s: %s", h, r.stderr)
	}
}

// TestEventsCommand: events shows what happens on the board as it
// happens, one line (or JSON object) per event, until bmcd ends the stream.
func TestEventsCommand(t *testing.T) {
	for _, tt := range []struct {
		name   string
		args   []string
		expect func(t *testing.T, lines []string)
	}{
		{name: "table", args: []string{"events"}, expect: func(t *testing.T, lines []string) {
			assert.Contains(t, lines[0], "power  slot 3: on")
			assert.Contains(t, lines[1], "slot   slot 2: name k3s, module CM4, policy always-off")
		}},
		{name: "json lines", args: []string{"-o", "json", "events"}, expect: func(t *testing.T, lines []string) {
			var e [2]apitype.Event
			for i, l := range lines {
				require.NoError(t, json.Unmarshal([]byte(l), &e[i]), l)
				assert.NotZero(t, e[i].ID)
				assert.WithinDuration(t, time.Now(), e[i].Time, time.Minute)
				require.NotNil(t, e[i].Slot, l)
			}
			assert.Equal(t, "power", e[0].Type)
			assert.Equal(t, apitype.Slot{Slot: 3, Power: "on", Requested: "on"}, pick(*e[0].Slot))
			assert.Equal(t, "slot", e[1].Type)
			assert.Equal(t, apitype.Slot{Slot: 2, Name: "k3s", Power: "off"}, pick(*e[1].Slot))
			assert.Equal(t, "always-off", e[1].Slot.Policy)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TZ", "UTC")
			f := newBMCD(t)
			isolate(t, f.srv.URL)
			login(t, f)
			ev := startEvents(t, f, tt.args...)
			r := bmcctl(t, "", "power", "on", "3")
			require.Equal(t, 0, r.code, r.stderr)
			r = bmcctl(t, "", "slot", "set", "2", "--name", "k3s")
			require.Equal(t, 0, r.code, r.stderr)
			require.Eventually(t, func() bool { return strings.Count(ev.stdout.String(), "\n") >= 2 }, 10*time.Second, 5*time.Millisecond)
			// bmcd stops: the stream ends without Ctrl-C.
			f.shutdown()
			code := ev.wait(t)
			lines := strings.Split(strings.TrimSuffix(ev.stdout.String(), "\n"), "\n")
			require.Len(t, lines, 2, ev.stdout.String())
			tt.expect(t, lines)
			assert.Equal(t, "bmcctl: follow events: bmcd at "+f.srv.URL+" closed the stream\n", ev.stderr.String())
			assert.Equal(t, 1, code, "the stream ended without Ctrl-C")
		})
	}
}

// pick keeps the fields of an event's slot that the test sets.
func pick(s apitype.Slot) apitype.Slot {
	return apitype.Slot{Slot: s.Slot, Name: s.Name, Power: s.Power, Requested: s.Requested}
}

// eventsRun is a bmcctl events command running in the background.
type eventsRun struct {
	stdout, stderr lockedBuffer
	done           chan struct{}
	code           int
}

// wait waits for the command to end and returns its exit code.
func (e *eventsRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		t.Fatal("events did not end")
	}
	return e.code
}

// startEvents runs bmcctl events until the test ends, and returns once
// bmcd has subscribed it to the board's events.
func startEvents(t *testing.T, f *testBMCD, args ...string) *eventsRun {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	e := &eventsRun{done: make(chan struct{})}
	go func() {
		defer close(e.done)
		e.code = run(ctx, args, strings.NewReader(""), &e.stdout, &e.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		e.wait(t)
	})
	require.Eventually(t, f.streaming, 10*time.Second, 5*time.Millisecond)
	return e
}

// lockedBuffer is a bytes.Buffer safe to read while a command writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestEventsUntilInterrupted(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"events"}, strings.NewReader(""), &stdout, &stderr) }()
	require.Eventually(t, f.streaming, 10*time.Second, 5*time.Millisecond)
	f.switchOn(t, 1)
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "slot 1: on") }, 10*time.Second, 5*time.Millisecond)
	cancel() // Ctrl-C
	select {
	case code := <-done:
		assert.Equal(t, 0, code, "Ctrl-C is how events normally ends")
		assert.Empty(t, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("events did not stop on Ctrl-C")
	}
}

func TestInterrupted(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"slots"}, strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, 130, code)
	assert.Equal(t, "bmcctl: interrupted\n", stderr.String())
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	isolate(t, base)

	r := bmcctl(t, "", "slots")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "bmcctl: cannot reach bmcd at "+base+": connection refused\n", r.stderr)
}

func TestTimeout(t *testing.T) {
	// A bmcd that never answers: the handler waits until the client goes.
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(srv.Close)
	isolate(t, srv.URL)
	require.NoError(t, saveToken(srv.URL, cachedToken{Token: anyToken, ExpiresAt: time.Now().Add(time.Hour)}))
	r := bmcctl(t, "", "--timeout", "100ms", "slots")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "bmcctl: no answer from bmcd at "+srv.URL+" within 100ms (see --timeout)\n", r.stderr)
}

func TestCompletion(t *testing.T) {
	isolate(t, defaultHost)
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		r := bmcctl(t, "", "completion", shell)
		assert.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "bmcctl", shell)
	}
	r := bmcctl(t, "", "__complete", "power", "")
	require.Equal(t, 0, r.code, r.stderr)
	for _, a := range []string{"on", "off", "reset", "cycle", "status"} {
		assert.Contains(t, r.stdout, a+"\t")
	}
	r = bmcctl(t, "", "__complete", "slot", "set", "1", "--policy", "")
	assert.Contains(t, r.stdout, "always-on\n")
}

// TestSlotCompletion: slot arguments complete to bmcd's slots, described
// by name, module and power; without bmcd, to 1-4, silently.
func TestSlotCompletion(t *testing.T) {
	f := newBMCD(t)
	isolate(t, f.srv.URL)
	login(t, f)
	r := bmcctl(t, "", "slot", "set", "2", "--name", "k3s", "--module", "CM4")
	require.Equal(t, 0, r.code, r.stderr)
	f.switchOn(t, 2)
	const (
		fromBMCD = "1\tCM4, off\n2\tk3s, CM4, on\n3\tCM4, off\n4\tCM4, off\n"
		fallback = "1\n2\n3\n4\n"
		all      = "all\tevery slot\n"
		noFiles  = ":4\n" // cobra.ShellCompDirectiveNoFileComp
	)
	tests := []struct {
		name string
		args []string
		want string // with bmcd; without, fromBMCD is fallback
	}{
		{name: "power on", args: []string{"power", "on", ""}, want: fromBMCD + all + noFiles},
		{name: "power off", args: []string{"power", "off", ""}, want: fromBMCD + all + noFiles},
		{name: "power status", args: []string{"power", "status", ""}, want: fromBMCD + all + noFiles},
		{name: "console", args: []string{"console", ""}, want: fromBMCD + noFiles},
		{name: "console after the slot", args: []string{"console", "2", ""}, want: noFiles},
		{name: "slot set", args: []string{"slot", "set", ""}, want: fromBMCD + noFiles},
		{name: "flash --slot", args: []string{"flash", "--slot", ""}, want: fromBMCD + noFiles},
	}
	complete := func(t *testing.T, args []string) result {
		t.Helper()
		r := bmcctl(t, "", append([]string{"__complete"}, args...)...)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "Completion ended with directive: ShellCompDirectiveNoFileComp\n", r.stderr, "nothing else on stderr")
		return r
	}

	t.Run("from bmcd", func(t *testing.T) {
		for _, tt := range tests {
			before := len(f.seen())
			assert.Equal(t, tt.want, complete(t, tt.args).stdout, tt.name)
			if strings.Contains(tt.want, fromBMCD) {
				assert.Equal(t, []string{"GET /api/v1/slots"}, f.seen()[before:], tt.name)
			}
		}
	})

	t.Run("bmcd unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		down := "http://" + ln.Addr().String()
		require.NoError(t, ln.Close())
		require.NoError(t, saveToken(down, cachedToken{Token: anyToken, ExpiresAt: time.Now().Add(time.Hour)}))
		for _, tt := range tests {
			r := complete(t, append([]string{"--host", down}, tt.args...))
			assert.Equal(t, strings.Replace(tt.want, fromBMCD, fallback, 1), r.stdout, tt.name)
		}
	})

	t.Run("token refused", func(t *testing.T) {
		require.NoError(t, saveToken(f.srv.URL, cachedToken{Token: "revoked", ExpiresAt: time.Now().Add(time.Hour)}))
		r := complete(t, []string{"power", "on", ""})
		assert.Equal(t, fallback+all+noFiles, r.stdout)
		has, err := hasToken(f.srv.URL)
		require.NoError(t, err)
		assert.True(t, has, "left for the next command to explain")
	})

	t.Run("not logged in", func(t *testing.T) {
		require.NoError(t, deleteToken(f.srv.URL))
		before := len(f.seen())
		r := complete(t, []string{"console", ""})
		assert.Equal(t, fallback+noFiles, r.stdout)
		assert.Len(t, f.seen(), before, "no token, no request")
	})
}

func TestHelpIsNotAnError(t *testing.T) {
	isolate(t, defaultHost)
	for _, args := range [][]string{{}, {"--help"}, {"power", "--help"}, {"help", "power"}, {"slot"}} {
		r := bmcctl(t, "", args...)
		assert.Equal(t, 0, r.code, "%v: %s", args, r.stderr)
		assert.Contains(t, r.stdout, "Usage:", "%v", args)
	}
}
