package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// lockedBuffer collects the daemon's stderr while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listeningRE = regexp.MustCompile(`bmcd: listening on (https?://\S+)`)

const testPassword = "pass word"

// testDaemon is bmcd started through run, as main starts it.
type testDaemon struct {
	url, token string
}

// startDaemon runs bmcd on the simulated board with the extra YAML in
// config and waits until it listens and a login succeeds.
func startDaemon(t *testing.T, config string) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "bmcd.yaml")
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(`
board: sim
listen: 127.0.0.1:0
state_dir: %s
sim:
  emmc_mib: 64
  usb_timing: fast
auth:
  admin_password: %q
%s`, filepath.Join(dir, "state"), testPassword, config)), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--config", path}, stderr) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	var url string
	require.Eventually(t, func() bool {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("bmcd stopped: %v\n%s", err, stderr.String())
		default:
		}
		m := listeningRE.FindStringSubmatch(stderr.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}, 20*time.Second, 5*time.Millisecond)
	d := &testDaemon{url: url}
	var lr apitype.LoginResponse
	require.Equal(t, 200, d.do(t, "POST", "/api/v1/auth/login", `{"username":"admin","password":"`+testPassword+`"}`, &lr))
	d.token = lr.Token
	return d
}

func (d *testDaemon) request(t *testing.T, method, path string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, d.url+path, body)
	require.NoError(t, err)
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	return req
}

func (d *testDaemon) do(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	req := d.request(t, method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil {
		require.NoError(t, json.Unmarshal(data, out), "body: %s", data)
	}
	return resp.StatusCode
}

// trickle is an upload that sends size bytes in small chunks, one every
// gap, so the whole body takes far longer than any of the server's
// timeouts while no single wait comes near the idle timeout.
type trickle struct {
	data []byte
	gap  time.Duration
	sent int
}

func (r *trickle) Read(p []byte) (int, error) {
	if r.sent == len(r.data) {
		return 0, io.EOF
	}
	if r.sent > 0 {
		time.Sleep(r.gap) // pacing the client, not waiting for a result
	}
	n := copy(p[:min(len(p), 8<<10)], r.data[r.sent:])
	r.sent += n
	return n, nil
}

// smallTimeouts makes every server timeout small, so a test shows in
// seconds what would happen after minutes with the defaults.
const smallTimeouts = `
http:
  read_header_timeout: 300ms
  idle_timeout: 300ms
  body_idle_timeout: 1s
`

// TestLongTransfersOutliveServerTimeouts uploads an image slower than
// every server timeout through the daemon's real serve path, with an
// event stream and a console session open all along: the upload
// succeeds and both streams are still alive afterwards.
func TestLongTransfersOutliveServerTimeouts(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, smallTimeouts)

	// The event stream, opened first.
	events, err := http.DefaultClient.Do(d.request(t, "GET", "/api/v1/events", nil))
	require.NoError(t, err)
	defer events.Body.Close()
	require.Equal(t, 200, events.StatusCode)

	// A console session on slot 1.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(d.url, "http", "ws", 1)+"/api/v1/slots/1/console?history=0",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + d.token}}})
	require.NoError(t, err)
	defer ws.CloseNow()
	typ, _, err := ws.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, websocket.MessageText, typ, "hello first")

	image := make([]byte, 1<<20)
	_, _ = rand.Read(image)
	body := &trickle{data: image, gap: 20 * time.Millisecond}
	start := time.Now()
	req := d.request(t, "POST", "/api/v1/slots/2/flash?name=slow.img", body)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var job apitype.Job
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&job))
	took := time.Since(start)
	require.Equal(t, 200, resp.StatusCode)
	// The stream below waits for this job's success: a job that failed
	// must end the test here, not leave it reading pings.
	require.Equal(t, "succeeded", job.State, job.Error)
	// The upload proved something only if it outlasted every timeout.
	require.Greater(t, took, 2*time.Second, "the upload must take longer than every server timeout")

	// The event stream is still open: it delivers the job's end. (The
	// stream never ends by itself; closing it bounds the wait.)
	stop := time.AfterFunc(30*time.Second, func() { events.Body.Close() })
	defer stop.Stop()
	sc := bufio.NewScanner(events.Body)
	sawEnd := false
	for !sawEnd && sc.Scan() {
		sawEnd = strings.HasPrefix(sc.Text(), "data: ") && strings.Contains(sc.Text(), `"state":"succeeded"`)
	}
	require.True(t, sawEnd, "event stream ended, or nothing for 30 s, before the job's end: %v", sc.Err())

	// The console session is still open: switching slot 1 on shows its boot.
	require.Equal(t, 200, d.do(t, "POST", "/api/v1/slots/1/power", `{"action":"on"}`, nil))
	for {
		typ, data, err := ws.Read(ctx)
		require.NoError(t, err, "console session ended early")
		if typ == websocket.MessageBinary && len(data) > 0 {
			break
		}
	}
}

// TestStalledUploadFails stops sending mid-upload: the read fails after
// the body idle timeout, the job fails saying so and the slot is put back.
func TestStalledUploadFails(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, smallTimeouts)
	conn, err := net.Dial("tcp", strings.TrimPrefix(d.url, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	// A bound for the test only, far above the body idle timeout.
	require.NoError(t, conn.SetDeadline(time.Now().Add(time.Minute)))
	head := "POST /api/v1/slots/3/flash HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + d.token +
		"\r\nContent-Type: application/octet-stream\r\nContent-Length: 10000000\r\n\r\n"
	_, err = conn.Write(append([]byte(head), bytes.Repeat([]byte{0xa5}, 64<<10)...))
	require.NoError(t, err)
	// The client sends nothing more and waits for the answer.
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	var job apitype.Job
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&job))
	assert.Equal(t, "failed", job.State)
	assert.Contains(t, job.Error, "nothing received for 1s")
	assert.Empty(t, job.CleanupError)

	var slot apitype.Slot
	require.Equal(t, 200, d.do(t, "GET", "/api/v1/slots/3", "", &slot))
	assert.Equal(t, "off", slot.Power)
	// The job lets go of the slot just after it is final.
	require.Eventually(t, func() bool {
		var s apitype.Slot
		return d.do(t, "GET", "/api/v1/slots/3", "", &s) == 200 && !s.Busy
	}, 10*time.Second, 5*time.Millisecond)
}

// TestServerHasNoWholeRequestDeadline checks the timeouts the daemon puts
// on echo's server, which starts with a 30 s ReadTimeout.
func TestServerHasNoWholeRequestDeadline(t *testing.T) {
	t.Parallel()
	s := &http.Server{ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second} // as echo may start it
	cfg := defaultConfig()
	cfg.HTTP.apply(s)
	assert.Zero(t, s.ReadTimeout)
	assert.Zero(t, s.WriteTimeout)
	assert.Equal(t, 10*time.Second, s.ReadHeaderTimeout)
	assert.Equal(t, 2*time.Minute, s.IdleTimeout)
}

// TestStartErrorsSayOnlyWhatFailed starts bmcd on a corrupt auth.json:
// the error names the file and nothing about a clean close.
func TestStartErrorsSayOnlyWhatFailed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "auth.json"), []byte("{not json"), 0o600))
	var stderr lockedBuffer
	err := run(context.Background(), []string{"--state-dir", dir, "--listen", "127.0.0.1:0", "--sim-usb-timing", "fast"}, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "auth.json is corrupt")
	assert.NotContains(t, err.Error(), "<nil>")
	assert.NotContains(t, err.Error(), "closing")
}
