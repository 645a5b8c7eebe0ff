package cluster

import (
	"context"
	"errors"
	"sync"
)

// Pool keeps one connection per node, redialling one that has gone.
type Pool struct {
	cfg Config

	mu    sync.Mutex
	conns map[string]*Conn // by node name
}

var _ Dialer = (*Pool)(nil)

// NewPool returns an empty pool that dials with cfg.
func NewPool(cfg Config) *Pool {
	return &Pool{cfg: cfg, conns: map[string]*Conn{}}
}

// Conn returns the node's connection, dialling it if there is none or the
// last one has gone. Dials to different nodes proceed in parallel; a
// node's recorded key must match the one its open connection was made
// with, or that connection is replaced.
func (p *Pool) Conn(ctx context.Context, n Node) (*Conn, error) {
	p.mu.Lock()
	c := p.conns[n.Name]
	p.mu.Unlock()
	if c != nil && c.Err() == nil && c.node.Addr == n.Addr && n.HostKey != nil &&
		string(c.node.HostKey.Marshal()) == string(n.HostKey.Marshal()) {
		return c, nil
	}
	nc, err := Dial(ctx, p.cfg, n)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.conns[n.Name]; old != nil && old != c && old.Err() == nil {
		// Another caller dialled the same node meanwhile: keep one.
		_ = nc.Close()
		return old, nil
	}
	if c != nil {
		_ = c.Close()
	}
	p.conns[n.Name] = nc
	return nc, nil
}

// Dial implements [Dialer] with the pool's connections; the pool owns them.
func (p *Pool) Dial(ctx context.Context, n Node) (Runner, error) {
	return p.Conn(ctx, n)
}

// Close closes every connection.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for name, c := range p.conns {
		errs = append(errs, c.Close())
		delete(p.conns, name)
	}
	return errors.Join(errs...)
}
