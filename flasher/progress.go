package flasher

import (
	"math"
	"sync/atomic"
	"time"
)

// Phase is a step of a flash.
type Phase int

// The phases of Flash, in order; a flash starts with the one phase of
// PhaseOpen, PhaseUpload and PhaseDownload that its source names.
// Writing also receives and decompresses: the image streams through.
const (
	// PhaseOpen opens a local file.
	PhaseOpen Phase = iota
	// PhaseUpload waits for the first bytes of a stream that someone
	// sends (an HTTP upload).
	PhaseUpload
	// PhaseDownload connects, sends the request and waits for the first
	// bytes of a download.
	PhaseDownload
	// PhaseWrite reads, decompresses and writes the image.
	PhaseWrite
	// PhaseSync flushes the target.
	PhaseSync
	// PhaseVerify reads back what was written.
	PhaseVerify
	// PhaseDone: the image is written (and verified if asked).
	PhaseDone
)

// String returns "open", "upload", "download", "write", "sync", "verify"
// or "done".
func (p Phase) String() string {
	switch p {
	case PhaseOpen:
		return "open"
	case PhaseUpload:
		return "upload"
	case PhaseDownload:
		return "download"
	case PhaseWrite:
		return "write"
	case PhaseSync:
		return "sync"
	case PhaseVerify:
		return "verify"
	case PhaseDone:
		return "done"
	}
	return "unknown"
}

// Progress is a snapshot of a flash.
type Progress struct {
	Phase Phase
	// BytesIn is how many source bytes (compressed, as received) were
	// consumed.
	BytesIn int64
	// BytesWritten is how many bytes were written to the target.
	BytesWritten int64
	// BytesVerified is how many bytes were read back.
	BytesVerified int64
	// Total is the size of the current phase's work, -1 if unknown:
	// the source size while writing (compare BytesIn), the bytes to read
	// back while verifying (compare BytesVerified); once done, the source
	// bytes consumed.
	Total int64
	// Rate is the smoothed speed of the current phase's work in bytes/s:
	// of BytesIn while writing, of BytesVerified while verifying.
	Rate float64
	// ETA is the estimated time left in the phase; zero if unknown.
	ETA time.Duration
}

// progressInterval throttles progress reports to 10 a second.
const progressInterval = 100 * time.Millisecond

// rateTau is the time constant of the rate's exponential smoothing.
const rateTau = 3 * time.Second

// tracker turns the pipeline's counters into Progress reports. Its
// methods run on Flash's goroutine only, so reports are never
// concurrent.
type tracker struct {
	fn                    func(Progress)
	in, written, verified atomic.Int64
	phase                 Phase
	total                 int64
	lastTime              time.Time
	lastDone              int64
	rate                  float64
	haveRate              bool
}

func (t *tracker) done() int64 {
	if t.phase == PhaseVerify {
		return t.verified.Load()
	}
	return t.in.Load()
}

// start begins a phase and reports it.
func (t *tracker) start(p Phase, total int64) {
	t.phase, t.total = p, total
	t.lastTime, t.lastDone = time.Now(), t.done()
	t.rate, t.haveRate = 0, false
	t.report()
}

// tick updates the rate and reports.
func (t *tracker) tick(now time.Time) {
	dt := now.Sub(t.lastTime).Seconds()
	if dt <= 0 {
		return
	}
	done := t.done()
	inst := float64(done-t.lastDone) / dt
	if t.haveRate {
		alpha := 1 - math.Exp(-dt/rateTau.Seconds())
		t.rate += alpha * (inst - t.rate)
	} else {
		t.rate, t.haveRate = inst, true
	}
	t.lastTime, t.lastDone = now, done
	t.report()
}

func (t *tracker) report() {
	if t.fn == nil {
		return
	}
	p := Progress{
		Phase:         t.phase,
		BytesIn:       t.in.Load(),
		BytesWritten:  t.written.Load(),
		BytesVerified: t.verified.Load(),
		Total:         t.total,
		Rate:          t.rate,
	}
	if t.total > 0 && t.rate > 0 {
		if left := t.total - t.done(); left > 0 {
			p.ETA = time.Duration(float64(left) / t.rate * float64(time.Second)).Round(time.Millisecond)
		}
	}
	t.fn(p)
}

// wait reports progress until done is closed.
func (t *tracker) wait(done <-chan struct{}) {
	if t.fn == nil {
		<-done
		return
	}
	tk := time.NewTicker(progressInterval)
	defer tk.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-tk.C:
			t.tick(now)
		}
	}
}
