package bmc

import (
	"context"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
)

// userDialer reaches each node as its own account with bmcd's key: one
// connection pool per account, closed when the job ends.
type userDialer struct {
	signer ssh.Signer
	users  map[string]string // node name → account

	mu    sync.Mutex
	pools map[string]*cluster.Pool
}

var _ cluster.Dialer = (*userDialer)(nil)

func newUserDialer(signer ssh.Signer, users map[string]string) *userDialer {
	return &userDialer{signer: signer, users: users, pools: map[string]*cluster.Pool{}}
}

// Dial implements cluster.Dialer.
func (d *userDialer) Dial(ctx context.Context, n cluster.Node) (cluster.Runner, error) {
	user := d.users[n.Name]
	d.mu.Lock()
	p := d.pools[user]
	if p == nil {
		p = cluster.NewPool(cluster.Config{User: user, Signer: d.signer})
		d.pools[user] = p
	}
	d.mu.Unlock()
	return p.Dial(ctx, n)
}

// Close closes every pool's connections.
func (d *userDialer) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.pools {
		_ = p.Close() // a connection that fails to close is gone anyway
	}
	return nil
}
