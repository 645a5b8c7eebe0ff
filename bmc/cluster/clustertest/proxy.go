package clustertest

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy forwards TCP connections from its own address to a target until
// Stall, after which it silently drops everything in both directions while
// keeping the connections open: a peer that stops answering.
type Proxy struct {
	Addr string

	target  string
	l       net.Listener
	stalled atomic.Bool
	closed  chan struct{}
	wg      sync.WaitGroup
}

// StartProxy listens on 127.0.0.1 and forwards to target; it is closed at
// test cleanup.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: l.Addr().String(), target: target, l: l, closed: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Stall stops forwarding.
func (p *Proxy) Stall() { p.stalled.Store(true) }

func (p *Proxy) close() {
	close(p.closed)
	_ = p.l.Close()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.wg.Add(3)
		go p.pipe(out, in)
		go p.pipe(in, out)
		go func() {
			defer p.wg.Done()
			<-p.closed
			_ = in.Close()
			_ = out.Close()
		}()
	}
}

func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.stalled.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
