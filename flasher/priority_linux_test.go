package flasher

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// policyLog records, for each kind of call the flash makes into the
// source and the target, whether it ran on an idle thread.
// It also keeps the longest source read asked for.
type policyLog struct {
	mu          sync.Mutex
	seen        map[string][]bool
	longestRead int
}

func (l *policyLog) note(t testing.TB, call string) {
	idle, err := threadIsIdle()
	if err != nil {
		t.Errorf("%s: %v", call, err)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string][]bool{}
	}
	l.seen[call] = append(l.seen[call], idle)
}

type policySource struct {
	r   io.Reader
	log *policyLog
	t   testing.TB
}

func (s policySource) Read(p []byte) (int, error) {
	s.log.note(s.t, "source Read")
	s.log.mu.Lock()
	s.log.longestRead = max(s.log.longestRead, len(p))
	s.log.mu.Unlock()
	return s.r.Read(p)
}

type policyTarget struct {
	*memTarget
	log *policyLog
	t   testing.TB
}

func (p policyTarget) WriteAt(b []byte, off int64) (int, error) {
	p.log.note(p.t, "target WriteAt")
	return p.memTarget.WriteAt(b, off)
}

func (p policyTarget) ReadAt(b []byte, off int64) (int, error) {
	p.log.note(p.t, "target ReadAt")
	return p.memTarget.ReadAt(b, off)
}

func (p policyTarget) Sync() error {
	p.log.note(p.t, "target Sync")
	return nil
}

// idleThreads lists the process' threads under SCHED_IDLE.
func idleThreads(t testing.TB) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/task")
	require.NoError(t, err)
	var idle []int
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		require.NoError(t, err)
		attr, err := unix.SchedGetAttr(tid, 0)
		if err != nil {
			continue // the thread has just ended
		}
		if attr.Policy == unix.SCHED_IDLE {
			idle = append(idle, tid)
		}
	}
	return idle
}

// TestFlashBackground: with Options.Background every write and read-back
// of the target and the sync run on idle threads, the source's reads at
// the normal priority (atNormalPriority), and no idle thread is left once
// Flash returns; without it, none runs idle. In the background no read of
// the source asks for more than backgroundPiece. The
// test's own goroutine is not locked, so it cannot mistake one thread for
// another.
func TestFlashBackground(t *testing.T) {
	img := makeImage(3<<20+1234, 11)
	for _, tc := range []struct {
		name       string
		format     Format
		background bool
	}{
		{"raw, background", Raw, true},
		{"gzip, background", Gzip, true},
		{"raw, normal", Raw, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log policyLog
			dst := policyTarget{&memTarget{buf: make([]byte, 8<<20)}, &log, t}
			src := ReaderSource{R: policySource{bytes.NewReader(compress(t, tc.format, img)), &log, t}}
			res, err := Flash(t.Context(), src, dst, Options{Background: tc.background, BufferSize: 1 << 20})
			require.NoError(t, err)
			assert.True(t, res.Verified)
			assert.Equal(t, img, dst.buf[:len(img)])
			for _, call := range []string{"source Read", "target WriteAt", "target ReadAt", "target Sync"} {
				require.NotEmpty(t, log.seen[call], call)
				// The source is read at the normal priority (atNormalPriority).
				want := tc.background && call != "source Read"
				for i, idle := range log.seen[call] {
					require.Equal(t, want, idle, "%s #%d on an idle thread", call, i)
				}
			}
			if tc.background {
				assert.LessOrEqual(t, log.longestRead, backgroundPiece, "longest source read")
			} else if tc.format == Raw {
				assert.Greater(t, log.longestRead, backgroundPiece, "longest source read (a raw flash reads into whole buffers)")
			}
			// A locked thread ends just after its goroutine.
			require.Eventually(t, func() bool { return len(idleThreads(t)) == 0 }, 10*time.Second, time.Millisecond,
				"idle threads left: %v", idleThreads(t))
		})
	}
}

// TestFlashBackgroundDecoderProcess: the xz process a background flash
// starts runs under SCHED_IDLE too (an xz wrapper first in $PATH writes
// down its own policy, then runs the real xz).
func TestFlashBackgroundDecoderProcess(t *testing.T) {
	realXZ := requireTool(t, "xz")
	chrt := requireTool(t, "chrt")
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy")
	wrapper := "#!/bin/sh\n" + chrt + " -p $$ > " + policy + "\nexec " + realXZ + " \"$@\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "xz"), []byte(wrapper), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))

	img := makeImage(256<<10, 12)
	xzImg := compress(t, XZ, img)
	for _, background := range []bool{true, false} {
		dst := &memTarget{buf: make([]byte, 1<<20)}
		_, err := Flash(t.Context(), ReaderSource{R: bytes.NewReader(xzImg)}, dst,
			Options{XZ: XZExternal, Background: background})
		require.NoError(t, err)
		require.Equal(t, img, dst.buf[:len(img)])
		out, err := os.ReadFile(policy)
		require.NoError(t, err)
		assert.Equal(t, background, strings.Contains(string(out), "SCHED_IDLE"), "background %v: xz's policy: %s", background, out)
	}
}

// TestAtNormalPriority: on an idle thread fn runs under the normal policy
// and the thread is idle again afterwards; on a normal thread nothing
// changes.
func TestAtNormalPriority(t *testing.T) {
	if unix.Geteuid() != 0 {
		t.Skip("leaving the idle policy takes CAP_SYS_NICE: run as root")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var during bool
		atNormalPriority(func() { during = mustIdle(t) })
		assert.False(t, during, "normal thread: fn ran idle")
		assert.False(t, mustIdle(t), "normal thread: idle after")

		if err := idleThread(); err != nil { // locked; the thread ends with this goroutine
			t.Errorf("idleThread: %v", err)
			return
		}
		atNormalPriority(func() { during = mustIdle(t) })
		assert.False(t, during, "idle thread: fn ran idle")
		assert.True(t, mustIdle(t), "idle thread: not idle again after")
	}()
	<-done
}

// mustIdle is threadIsIdle for a goroutine other than the test's.
func mustIdle(t *testing.T) bool {
	idle, err := threadIsIdle()
	if err != nil {
		t.Errorf("threadIsIdle: %v", err)
	}
	return idle
}
