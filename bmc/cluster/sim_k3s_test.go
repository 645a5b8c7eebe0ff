package cluster_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/hal/sim/simssh"
)

// simK3sNode starts a simulated node with the board's k3s on its own
// loopback address, as the simulated board gives each slot one.
func simK3sNode(t testing.TB, w *simssh.K3s, ip, hostname string, bmcd ssh.Signer) cluster.Node {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simssh.Listen(ip+":0", simssh.Config{
		Node:           simssh.Node{Hostname: hostname, User: "root"},
		HostKey:        hostPriv,
		AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(bmcd.PublicKey()))},
		K3s:            k3sOf(w, hostname),
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

// k3sOf is the node's k3s stand-in, or none (an offline node, where the
// install script cannot be downloaded) when w is nil.
func k3sOf(w *simssh.K3s, hostname string) *simssh.K3sNode {
	if w == nil {
		return nil
	}
	return w.Node(hostname)
}

// TestInstallOfflineNodeFails: on a node without internet `curl -sfL … |
// sh` exits 0 having installed nothing (sh runs an empty script); the
// install must say so instead of leaving WaitReady to time out.
func TestInstallOfflineNodeFails(t *testing.T) {
	t.Parallel()
	signer := bmcdSigner(t)
	server := simK3sNode(t, nil, "127.0.4.3", "node3", signer)
	pool := cluster.NewPool(cluster.Config{Signer: signer})
	t.Cleanup(func() { pool.Close() })
	out, err := cluster.Install(t.Context(), pool, cluster.InstallSpec{Servers: []cluster.Node{server}, Token: cluster.NewToken(), ReadyInterval: time.Millisecond})
	if !errors.Is(err, cluster.ErrNotInstalled) {
		t.Fatalf("err %v, want ErrNotInstalled", err)
	}
	if len(out) != 1 || out[0].Action != cluster.ActionFailed {
		t.Errorf("outcomes %+v", out)
	}
}

func bmcdSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestK3sOnSimulatedNodes runs preflight, the install, readiness and the
// kubeconfig fetch with bmcd's real commands over real SSH against
// simulated nodes, then installs again, which must skip every node.
func TestK3sOnSimulatedNodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		net     string
		servers int
	}{
		{"1 server 2 agents", "127.0.2.", 1},
		{"3 servers", "127.0.3.", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			signer := bmcdSigner(t)
			w := simssh.NewK3s()
			var nodes []cluster.Node
			for i := range 3 {
				nodes = append(nodes, simK3sNode(t, w, fmt.Sprintf("%s%d", tc.net, i+1), fmt.Sprintf("node%d", i+1), signer))
			}
			pool := cluster.NewPool(cluster.Config{Signer: signer})
			t.Cleanup(func() { pool.Close() })
			if err := cluster.Preflight(t.Context(), pool, nodes, cluster.DefaultLimits).Err(); err != nil {
				t.Fatal(err)
			}
			spec := cluster.InstallSpec{Servers: nodes[:tc.servers], Agents: nodes[tc.servers:], Token: cluster.NewToken(),
				Version: "v1.33.1+k3s1", ReadyInterval: time.Millisecond}
			out, err := cluster.Install(t.Context(), pool, spec)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range out {
				if o.Action != cluster.ActionInstalled {
					t.Errorf("first install: %s %s", o.Node, o.Action)
				}
			}
			srv, err := pool.Dial(t.Context(), nodes[0])
			if err != nil {
				t.Fatal(err)
			}
			notReady, err := cluster.NotReady(t.Context(), srv, []string{"node1", "node2", "node3"})
			if err != nil || len(notReady) != 0 {
				t.Fatalf("not ready %v, %v", notReady, err)
			}
			kc, err := cluster.FetchKubeconfig(t.Context(), srv, "turingpi", "192.168.1.50")
			if err != nil {
				t.Fatal(err)
			}
			caPEM, err := base64.StdEncoding.DecodeString(fmt.Sprint(kc.Clusters[0].Body["certificate-authority-data"]))
			if err != nil {
				t.Fatal(err)
			}
			block, _ := pem.Decode(caPEM)
			if block == nil {
				t.Fatalf("CA is not PEM: %q", caPEM)
			}
			ca, err := x509.ParseCertificate(block.Bytes)
			if err != nil || !ca.IsCA {
				t.Fatalf("CA: %v, %v", ca, err)
			}
			out, err = cluster.Install(t.Context(), pool, spec)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range out {
				if o.Action != cluster.ActionSkipped {
					t.Errorf("second install: %s %s", o.Node, o.Action)
				}
			}
		})
	}
}

// TestK3sJoinWrongTokenFails: a node joining with another token is
// refused as the real k3s refuses it, and Install says which node.
func TestK3sJoinWrongTokenFails(t *testing.T) {
	t.Parallel()
	signer := bmcdSigner(t)
	w := simssh.NewK3s()
	server := simK3sNode(t, w, "127.0.4.1", "node1", signer)
	agent := simK3sNode(t, w, "127.0.4.2", "node2", signer)
	pool := cluster.NewPool(cluster.Config{Signer: signer})
	t.Cleanup(func() { pool.Close() })
	if _, err := cluster.Install(t.Context(), pool, cluster.InstallSpec{Servers: []cluster.Node{server}, Token: cluster.NewToken(), ReadyInterval: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	out, err := cluster.Install(t.Context(), pool, cluster.InstallSpec{Servers: []cluster.Node{server}, Agents: []cluster.Node{agent}, Token: cluster.NewToken(), ReadyInterval: time.Millisecond})
	var exit *cluster.ExitError
	if !errors.As(err, &exit) || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Fatalf("err %v, want the agent's install to fail with 401", err)
	}
	if out[1].Node != "node2" || out[1].Action != cluster.ActionFailed {
		t.Errorf("outcomes %+v", out)
	}
}
