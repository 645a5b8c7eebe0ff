package cluster_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/hal/sim/simssh"
)

// simNode starts a simulated node's sshd accepting bmcd's key and returns
// the node as bmcd records it.
func simNode(t *testing.T, hostname string, bmcd ssh.Signer) cluster.Node {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simssh.Listen("127.0.0.1:0", simssh.Config{
		Node:           simssh.Node{Hostname: hostname, User: "root"},
		HostKey:        hostPriv,
		AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(bmcd.PublicKey()))},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	hostKey, err := ssh.NewPublicKey(hostPriv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return cluster.Node{Name: hostname, Addr: srv.Addr().String(), HostKey: hostKey}
}

// TestPreflightPassesOnSimulatedNodes runs preflight's real commands, over
// real SSH connections, against the simulated board's nodes.
func TestPreflightPassesOnSimulatedNodes(t *testing.T) {
	t.Parallel()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	var nodes []cluster.Node
	for i := range 3 {
		nodes = append(nodes, simNode(t, fmt.Sprintf("node%d", i+1), signer))
	}
	pool := cluster.NewPool(cluster.Config{Signer: signer})
	t.Cleanup(func() { pool.Close() })
	r := cluster.Preflight(t.Context(), pool, nodes, cluster.DefaultLimits)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		f := r.Facts[n.Name]
		if f.Hostname != n.Name || f.Arch != "arm64" || f.FreeDisk < cluster.DefaultLimits.MinFreeDisk {
			t.Errorf("%s: facts %+v", n.Name, f)
		}
	}
}
