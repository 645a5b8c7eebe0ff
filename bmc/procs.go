package bmc

import (
	"runtime"
	"sync"
)

// Procs lends the Go scheduler extra Ps (GOMAXPROCS) while background
// flashes run. A flash under the kernel's idle policy keeps a P on each
// of its threads while the kernel has them preempted; without spare Ps a
// goroutine woken by a request would wait for the Go scheduler to take
// one back (up to 10 ms) instead of running at once. Outside flashes
// GOMAXPROCS is what it was, so the garbage collector's share of the CPU
// is too.
type Procs struct {
	mu   sync.Mutex
	base int
	lent int
	set  func(int) int
}

// NewProcs returns Procs lending on top of the current GOMAXPROCS.
func NewProcs() *Procs { return newProcs(runtime.GOMAXPROCS) }

// newProcs is NewProcs with the setter tests watch.
func newProcs(set func(int) int) *Procs { return &Procs{base: set(0), set: set} }

// Lend raises GOMAXPROCS by n until the returned func gives them back.
func (p *Procs) Lend(n int) (giveBack func()) {
	p.mu.Lock()
	p.lent += n
	p.set(p.base + p.lent)
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			p.lent -= n
			p.set(p.base + p.lent)
			p.mu.Unlock()
		})
	}
}
