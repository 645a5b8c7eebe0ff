package bmc_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/hal/sim/simssh"
)

// simNode is a simulated node without internet on its own loopback
// address, logging in as pi (uploads through sudo).
type simNode struct {
	addr    string
	hostKey ssh.PublicKey
	k3s     *simssh.K3sNode
}

func startSimNode(t *testing.T, w *simssh.K3s, ip, hostname, machine string, bmcd ssh.Signer) simNode {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	k := w.Node(hostname)
	srv, err := simssh.Listen(ip+":0", simssh.Config{
		Node:           simssh.Node{Hostname: hostname, User: "pi", Machine: machine},
		HostKey:        priv,
		AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(bmcd.PublicKey()))},
		K3s:            k,
		Offline:        true,
	})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	pub, err := ssh.NewPublicKey(priv.Public())
	require.NoError(t, err)
	return simNode{addr: srv.Addr().String(), hostKey: pub, k3s: k}
}

func (n simNode) keyLine() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(n.hostKey)))
}

// simDialer reaches nodes over real SSH; a slot's node, whose recorded
// address (node2.local) does not resolve here, is sent to its simulated
// node instead.
type simDialer struct {
	signer ssh.Signer
	users  map[string]string
	slots  map[string]simNode // by node name

	mu    sync.Mutex
	pools map[string]*cluster.Pool
}

func (d *simDialer) Dial(ctx context.Context, n cluster.Node) (cluster.Runner, error) {
	if s, ok := d.slots[n.Name]; ok {
		n.Addr, n.HostKey = s.addr, s.hostKey
	}
	d.mu.Lock()
	p := d.pools[d.users[n.Name]]
	if p == nil {
		p = cluster.NewPool(cluster.Config{User: d.users[n.Name], Signer: d.signer})
		d.pools[d.users[n.Name]] = p
	}
	d.mu.Unlock()
	return p.Dial(ctx, n)
}

func (d *simDialer) Close() error {
	for _, p := range d.pools {
		_ = p.Close()
	}
	return nil
}

// airgapFixture: slot 2's prepared node (arm64) and two loose nodes by
// address, a Raspberry Pi 3B on 32-bit Pi OS (armv7l) and an arm64 one,
// all simulated, none with internet.
type airgapFixture struct {
	*preparedFixture
	slot, pi3b, pi4 simNode
	files           map[string][]byte
}

func newAirgapFixture(t *testing.T, net string) *airgapFixture {
	t.Helper()
	signer, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)))
	require.NoError(t, err)
	w := simssh.NewK3s()
	f := &airgapFixture{
		slot: startSimNode(t, w, net+"2", "node2", "aarch64", signer),
		pi3b: startSimNode(t, w, net+"50", "pi3b", "armv7l", signer),
		pi4:  startSimNode(t, w, net+"51", "pi4", "aarch64", signer),
	}
	f.preparedFixture = newPreparedFixture(t, func(c *bmc.Config) {
		c.ClusterDialer = func(users map[string]string) cluster.Dialer {
			return &simDialer{signer: signer, users: users, slots: map[string]simNode{"node2": f.slot}, pools: map[string]*cluster.Pool{}}
		}
	})
	bin := func(arch string) []byte { return append(simssh.ELFHeader(arch), bytes.Repeat([]byte(arch), 4096)...) }
	f.files = map[string][]byte{
		"install.sh":                      []byte("#!/bin/sh\n# k3s install script\n"),
		"k3s-arm64":                       bin("arm64"),
		"k3s-armhf":                       bin("arm"),
		"k3s-airgap-images-arm64.tar.zst": bytes.Repeat([]byte("arm64 images "), 5000),
		"k3s-airgap-images-arm.tar.zst":   bytes.Repeat([]byte("arm images "), 5000),
	}
	return f
}

func (f *airgapFixture) upload(t *testing.T, skip ...string) {
	t.Helper()
	for name, data := range f.files {
		if !slices.Contains(skip, name) {
			_, err := f.board.PutAirgapFile(name, bytes.NewReader(data), "")
			require.NoError(t, err)
		}
	}
}

func (f *airgapFixture) request() bmc.ClusterRequest {
	// The loose Pi 4 serves: agents join by the server's address, and
	// the slot's recorded one (node2.local) does not resolve here.
	return bmc.ClusterRequest{Agents: []int{2}, Airgap: true, Nodes: []bmc.ClusterAddrNode{
		{Addr: f.pi4.addr, HostKey: f.pi4.keyLine(), Role: "server"},
		{Addr: f.pi3b.addr, HostKey: f.pi3b.keyLine()},
	}}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestClusterUpAirgapMixedNodes: a prepared slot (agent) and two loose
// Pis by address (the server and an agent), arm64 and armv7l, none with internet, bootstrap from the
// controller's air-gap files, each node getting its architecture's.
func TestClusterUpAirgapMixedNodes(t *testing.T) {
	t.Parallel()
	f := newAirgapFixture(t, "127.0.12.")
	f.upload(t)

	online := f.request()
	online.Airgap = false
	j := f.up(t, online)
	require.Equal(t, bmc.JobFailed, j.State, "offline nodes cannot install online")
	assert.Contains(t, j.Error, "not running after the install")

	j = f.up(t, f.request())
	require.Equal(t, bmc.JobSucceeded, j.State, j.Error)
	assert.True(t, j.Cluster.Airgap)
	require.Len(t, j.Cluster.Nodes, 3)
	for _, n := range j.Cluster.Nodes {
		assert.Equal(t, "installed", n.Action, n.Name)
		assert.True(t, n.Ready, n.Name)
	}
	for _, tc := range []struct {
		node           simNode
		binary, images string
	}{
		{f.slot, "k3s-arm64", "k3s-airgap-images-arm64.tar.zst"},
		{f.pi3b, "k3s-armhf", "k3s-airgap-images-arm.tar.zst"},
		{f.pi4, "k3s-arm64", "k3s-airgap-images-arm64.tar.zst"},
	} {
		_, got, _, ok := tc.node.k3s.Files().Stat(cluster.NodeBinaryPath)
		assert.True(t, ok && got == sha(f.files[tc.binary]), "%s has %s", tc.node.addr, tc.binary)
		_, got, _, ok = tc.node.k3s.Files().Stat(cluster.NodeImagesDir + "/" + tc.images)
		assert.True(t, ok && got == sha(f.files[tc.images]), "%s has %s", tc.node.addr, tc.images)
	}
	_, err := f.board.ClusterKubeconfig()
	require.NoError(t, err)
}

// TestClusterUpAirgapMissingArch: no armhf binary for the Pi 3B: the job
// fails at the install step naming the node and the file, and no node
// got anything.
func TestClusterUpAirgapMissingArch(t *testing.T) {
	t.Parallel()
	f := newAirgapFixture(t, "127.0.13.")
	f.upload(t, "k3s-armhf")
	j := f.up(t, f.request())
	require.Equal(t, bmc.JobFailed, j.State)
	assert.Equal(t, bmc.ClusterStepInstallServer, j.Step)
	assert.Contains(t, j.Error, "k3s-armhf")
	assert.Contains(t, j.Error, "node "+strings.Split(f.pi3b.addr, ":")[0])
	for _, n := range []simNode{f.slot, f.pi3b, f.pi4} {
		_, _, _, ok := n.k3s.Files().Stat(cluster.NodeBinaryPath)
		assert.False(t, ok, "%s got a binary", n.addr)
	}
}

func TestClusterUpAirgapRefused(t *testing.T) {
	t.Parallel()
	f := newAirgapFixture(t, "127.0.14.")
	_, _, err := f.board.StartCluster(f.request())
	require.ErrorIs(t, err, bmc.ErrInvalid)
	assert.Contains(t, err.Error(), "no install.sh", "nothing uploaded yet")
	f.upload(t)
	req := f.request()
	req.Version = "v1.33.1+k3s1"
	_, _, err = f.board.StartCluster(req)
	require.ErrorIs(t, err, bmc.ErrInvalid)
	assert.Contains(t, err.Error(), "drop the version")
}

func TestPutAirgapFile(t *testing.T) {
	t.Parallel()
	f := newFlashFixture(t)
	dir := f.board.AirgapDir()
	assert.Equal(t, filepath.Join(f.dir, "airgap"), dir)
	got, err := f.board.AirgapFiles()
	require.NoError(t, err)
	assert.Empty(t, got, "no directory yet: nothing")

	data := []byte("#!/bin/sh\n")
	af, err := f.board.PutAirgapFile("install.sh", bytes.NewReader(data), sha(data))
	require.NoError(t, err)
	assert.Equal(t, bmc.AirgapFile{Name: "install.sh", Size: int64(len(data)), SHA256: sha(data)}, af)

	for _, tc := range []struct{ name, file, sum string }{
		{"path", "../k3s", ""},
		{"unknown file", "notes.txt", ""},
		{"wrong digest", "k3s-arm64", sha([]byte("other"))},
		{"bad digest", "k3s-arm64", "xyz"},
	} {
		_, err := f.board.PutAirgapFile(tc.file, bytes.NewReader([]byte("k3s")), tc.sum)
		assert.ErrorIs(t, err, bmc.ErrInvalid, tc.name)
	}
	_, err = f.board.PutAirgapFile("k3s-arm64", &failingReader{data: []byte("half a binary")}, "")
	assert.ErrorIs(t, err, errCut)

	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 1, "refused and cut uploads leave nothing, not even a part file")
	assert.Equal(t, "install.sh", ents[0].Name())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "k3s"), []byte("placed by hand"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README"), []byte("not listed"), 0o644))
	got, err = f.board.AirgapFiles()
	require.NoError(t, err)
	assert.Equal(t, []bmc.AirgapFile{
		{Name: "install.sh", Size: int64(len(data)), SHA256: sha(data)},
		{Name: "k3s", Size: 14, SHA256: sha([]byte("placed by hand"))},
	}, got)
}

var errCut = os.ErrDeadlineExceeded

// failingReader gives its data, then fails as a body whose client went
// quiet does.
type failingReader struct{ data []byte }

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, errCut
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func (f *airgapFixture) up(t *testing.T, req bmc.ClusterRequest) bmc.Job {
	t.Helper()
	job, done, err := f.board.StartCluster(req)
	require.NoError(t, err)
	<-done
	j, err := f.board.Jobs().Get(job.ID)
	require.NoError(t, err)
	return j
}
