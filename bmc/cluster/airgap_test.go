package cluster_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/hal/sim/simssh"
)

func TestAirgapInstallCommand(t *testing.T) {
	t.Parallel()
	const pre = "INSTALL_K3S_SKIP_DOWNLOAD=true "
	for _, tc := range []struct {
		name        string
		role        cluster.Role
		join        string
		clusterInit bool
		want        string
	}{
		{"single server", cluster.RoleServer, "", false,
			pre + "K3S_TOKEN='" + testToken + "' sh " + cluster.NodeScriptPath + " server"},
		{"first of several servers", cluster.RoleServer, "", true,
			pre + "K3S_TOKEN='" + testToken + "' sh " + cluster.NodeScriptPath + " server --cluster-init"},
		{"joining server", cluster.RoleServer, "https://10.0.0.1:6443", false,
			pre + "K3S_URL='https://10.0.0.1:6443' K3S_TOKEN='" + testToken + "' sh " + cluster.NodeScriptPath + " server"},
		{"agent", cluster.RoleAgent, "https://10.0.0.1:6443", false,
			pre + "K3S_URL='https://10.0.0.1:6443' K3S_TOKEN='" + testToken + "' sh " + cluster.NodeScriptPath + " agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := cluster.AirgapInstallCommand(tc.role, testToken, tc.join, tc.clusterInit)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	if got, err := cluster.AirgapInstallCommand(cluster.RoleAgent, testToken, "", false); err == nil {
		t.Errorf("agent without a server accepted: %s", got)
	}
}

func TestUploadCommands(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		sudo bool
		want cluster.UploadSteps
	}{
		{"root", false, cluster.UploadSteps{
			Write:   "mkdir -p '/usr/local/bin' && umask 077 && tee '/usr/local/bin/k3s.bmcd-upload' >/dev/null",
			Sum:     "sha256sum '/usr/local/bin/k3s.bmcd-upload'",
			Install: "chmod 0755 '/usr/local/bin/k3s.bmcd-upload' && mv -f '/usr/local/bin/k3s.bmcd-upload' '/usr/local/bin/k3s'",
			Remove:  "rm -f '/usr/local/bin/k3s.bmcd-upload'",
		}},
		{"sudo", true, cluster.UploadSteps{
			Write:   "sudo -n mkdir -p '/usr/local/bin' && umask 077 && sudo -n tee '/usr/local/bin/k3s.bmcd-upload' >/dev/null",
			Sum:     "sudo -n sha256sum '/usr/local/bin/k3s.bmcd-upload'",
			Install: "sudo -n chmod 0755 '/usr/local/bin/k3s.bmcd-upload' && sudo -n mv -f '/usr/local/bin/k3s.bmcd-upload' '/usr/local/bin/k3s'",
			Remove:  "sudo -n rm -f '/usr/local/bin/k3s.bmcd-upload'",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := cluster.UploadCommands("/usr/local/bin/k3s", 0o755, tc.sudo)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestCheckAirgapName(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"install.sh", "k3s", "k3s-arm64", "k3s-armhf", "k3s-airgap-images-arm64.tar.zst",
		"k3s-airgap-images-arm.tar.gz", "k3s-airgap-images-amd64.tar"} {
		if err := cluster.CheckAirgapName(name); err != nil {
			t.Errorf("%s refused: %v", name, err)
		}
	}
	for _, name := range []string{"", ".", "..", "../k3s", "k3s/..", "/etc/passwd", "k3s-riscv64", "k3s-airgap-images-armhf.tar.zst",
		"k3s-airgap-images-arm64.tar.xz", "install.sh.bak", "K3S"} {
		if err := cluster.CheckAirgapName(name); err == nil {
			t.Errorf("%q accepted", name)
		}
	}
}

// airgapDir is an air-gap directory for arm64 and arm (a Pi 3B on 32-bit
// Pi OS): binaries that start like the real ones, the script, images.
func airgapDir() fstest.MapFS {
	bin := func(arch string) []byte { return append(simssh.ELFHeader(arch), bytes.Repeat([]byte(arch), 5000)...) }
	return fstest.MapFS{
		"install.sh":                          {Data: []byte("#!/bin/sh\n# k3s install script\n")},
		"k3s-arm64":                           {Data: bin("arm64")},
		"k3s-armhf":                           {Data: bin("arm")},
		"k3s-airgap-images-arm64.tar.zst":     {Data: bytes.Repeat([]byte("images arm64 "), 10000)},
		"k3s-airgap-images-arm.tar.gz":        {Data: bytes.Repeat([]byte("images arm "), 10000)},
		"k3s-airgap-images-arm.tar":           {Data: []byte("less preferred")},
		"k3s-airgap-images-amd64.tar.zst.tmp": {Data: []byte("not a name")},
	}
}

func TestPickAirgap(t *testing.T) {
	t.Parallel()
	dir := airgapDir()
	for _, tc := range []struct {
		arch string
		want cluster.AirgapFiles
		err  string
	}{
		{"arm64", cluster.AirgapFiles{Arch: "arm64", Binary: "k3s-arm64", Images: "k3s-airgap-images-arm64.tar.zst", Script: "install.sh"}, ""},
		{"arm", cluster.AirgapFiles{Arch: "arm", Binary: "k3s-armhf", Images: "k3s-airgap-images-arm.tar.gz", Script: "install.sh"}, ""},
		{"amd64", cluster.AirgapFiles{}, "for amd64: k3s, k3s-airgap-images-amd64.tar[.zst|.gz]"},
		{"", cluster.AirgapFiles{}, `no binary for architecture ""`},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			t.Parallel()
			got, err := cluster.PickAirgap(dir, tc.arch)
			if tc.err != "" {
				if !errors.Is(err, cluster.ErrAirgapMissing) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want ErrAirgapMissing with %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// airgapNode is a simulated node cut off from the internet, logging in as
// user, with uname -m machine.
type airgapNode struct {
	cluster.Node
	k3s *simssh.K3sNode
}

func startAirgapNode(t *testing.T, w *simssh.K3s, ip, hostname, user, machine string, bmcd ssh.Signer) airgapNode {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k := w.Node(hostname)
	srv, err := simssh.Listen(ip+":0", simssh.Config{
		Node:           simssh.Node{Hostname: hostname, User: user, Machine: machine},
		HostKey:        hostPriv,
		AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(bmcd.PublicKey()))},
		K3s:            k,
		Offline:        true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	hostKey, err := ssh.NewPublicKey(hostPriv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return airgapNode{cluster.Node{Name: hostname, Addr: srv.Addr().String(), HostKey: hostKey}, k}
}

// userDialer logs in to each node as its own user.
type userDialer map[string]*cluster.Pool

func (d userDialer) Dial(ctx context.Context, n cluster.Node) (cluster.Runner, error) {
	return d[n.Name].Dial(ctx, n)
}

// airgapCluster starts offline simulated nodes: node1 an arm64 server
// logging in as root, node2 a Pi 3B (armv7l) agent and node3 an arm64
// agent, both logging in as pi (uploads through sudo).
func airgapCluster(t *testing.T, net string) ([]airgapNode, userDialer, cluster.Report) {
	t.Helper()
	signer := bmcdSigner(t)
	w := simssh.NewK3s()
	nodes := []airgapNode{
		startAirgapNode(t, w, net+"1", "node1", "root", "aarch64", signer),
		startAirgapNode(t, w, net+"2", "pi3b", "pi", "armv7l", signer),
		startAirgapNode(t, w, net+"3", "node3", "pi", "aarch64", signer),
	}
	d := userDialer{}
	var cn []cluster.Node
	for i, n := range nodes {
		user := "pi"
		if i == 0 {
			user = "root"
		}
		p := cluster.NewPool(cluster.Config{User: user, Signer: signer})
		t.Cleanup(func() { p.Close() })
		d[n.Name] = p
		cn = append(cn, n.Node)
	}
	rep := cluster.Preflight(t.Context(), d, cn, cluster.DefaultLimits)
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	return nodes, d, rep
}

func airgapSpec(nodes []airgapNode, rep cluster.Report, dir fstest.MapFS) cluster.InstallSpec {
	spec := cluster.InstallSpec{Servers: []cluster.Node{nodes[0].Node}, Token: cluster.NewToken(), Airgap: dir,
		Arch: map[string]string{}, ReadyInterval: time.Millisecond}
	for _, n := range nodes[1:] {
		spec.Agents = append(spec.Agents, n.Node)
	}
	for name, f := range rep.Facts {
		spec.Arch[name] = f.Arch
	}
	return spec
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestAirgapInstallOnOfflineNodes: nodes without internet, of two
// architectures, logging in as root and as a sudo user, get each their
// architecture's binary and images and join; the online install fails on
// them.
func TestAirgapInstallOnOfflineNodes(t *testing.T) {
	t.Parallel()
	nodes, d, rep := airgapCluster(t, "127.0.6.")
	if got := rep.Facts["pi3b"].Arch; got != "arm" {
		t.Fatalf("armv7l node's arch %q, want arm", got)
	}
	dir := airgapDir()
	spec := airgapSpec(nodes, rep, dir)

	online := spec
	online.Airgap = nil
	if _, err := cluster.Install(t.Context(), d, online); !errors.Is(err, cluster.ErrNotInstalled) {
		t.Fatalf("online install on offline nodes: %v, want ErrNotInstalled", err)
	}

	out, err := cluster.Install(t.Context(), d, spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if o.Action != cluster.ActionInstalled {
			t.Errorf("%s: %s", o.Node, o.Action)
		}
	}
	for _, tc := range []struct {
		node           airgapNode
		binary, images string
	}{
		{nodes[0], "k3s-arm64", "k3s-airgap-images-arm64.tar.zst"},
		{nodes[1], "k3s-armhf", "k3s-airgap-images-arm.tar.gz"},
		{nodes[2], "k3s-arm64", "k3s-airgap-images-arm64.tar.zst"},
	} {
		files := tc.node.k3s.Files()
		if _, got, mode, ok := files.Stat(cluster.NodeBinaryPath); !ok || got != sum(dir[tc.binary].Data) || mode != 0o755 {
			t.Errorf("%s: k3s %s %v %v, want %s 0755", tc.node.Name, got, mode, ok, tc.binary)
		}
		if _, got, _, ok := files.Stat(cluster.NodeImagesDir + "/" + tc.images); !ok || got != sum(dir[tc.images].Data) {
			t.Errorf("%s: images %s missing or differ", tc.node.Name, tc.images)
		}
		if _, _, _, ok := files.Stat(cluster.NodeScriptPath); ok {
			t.Errorf("%s: install script left at %s", tc.node.Name, cluster.NodeScriptPath)
		}
	}
	out, err = cluster.Install(t.Context(), d, spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if o.Action != cluster.ActionSkipped {
			t.Errorf("second install: %s %s", o.Node, o.Action)
		}
	}
}

// TestAirgapMissingFileInstallsNothing: the directory lacks the arm
// binary the Pi 3B needs; nothing is installed anywhere.
func TestAirgapMissingFileInstallsNothing(t *testing.T) {
	t.Parallel()
	nodes, d, rep := airgapCluster(t, "127.0.7.")
	dir := airgapDir()
	delete(dir, "k3s-armhf")
	out, err := cluster.Install(t.Context(), d, airgapSpec(nodes, rep, dir))
	if !errors.Is(err, cluster.ErrAirgapMissing) || !strings.Contains(err.Error(), "pi3b") || !strings.Contains(err.Error(), "k3s-armhf") {
		t.Fatalf("err %v, want ErrAirgapMissing naming pi3b and k3s-armhf", err)
	}
	for _, o := range out {
		if o.Action != cluster.ActionNotRun {
			t.Errorf("%s: %s, want not run", o.Node, o.Action)
		}
	}
	for _, n := range nodes {
		if _, _, _, ok := n.k3s.Files().Stat(cluster.NodeBinaryPath); ok {
			t.Errorf("%s: a binary was uploaded", n.Name)
		}
	}
}

// TestAirgapWrongArchBinaryFails: a 64-bit binary saved as k3s-armhf
// cannot run on the 32-bit Pi 3B; its join fails as exec does, the
// others join.
func TestAirgapWrongArchBinaryFails(t *testing.T) {
	t.Parallel()
	nodes, d, rep := airgapCluster(t, "127.0.8.")
	dir := airgapDir()
	dir["k3s-armhf"] = dir["k3s-arm64"]
	out, err := cluster.Install(t.Context(), d, airgapSpec(nodes, rep, dir))
	if err == nil || !strings.Contains(err.Error(), "Exec format error") {
		t.Fatalf("err %v, want the Pi 3B's exec format error", err)
	}
	for _, o := range out {
		want := cluster.ActionInstalled
		if o.Node == "pi3b" {
			want = cluster.ActionFailed
		}
		if o.Action != want {
			t.Errorf("%s: %s, want %s", o.Node, o.Action, want)
		}
	}
}

// truncating passes only the first half of an upload's input on: a
// connection cut mid-stream, after which the node's tee ends without an
// error of its own.
type truncating struct{ cluster.Runner }

func (r truncating) Run(ctx context.Context, cmd string, stdin io.Reader) (cluster.Result, error) {
	if stdin != nil {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return cluster.Result{}, err
		}
		stdin = bytes.NewReader(b[:len(b)/2])
	}
	return r.Runner.Run(ctx, cmd, stdin)
}

func TestUploadTruncatedLeavesNothing(t *testing.T) {
	t.Parallel()
	signer := bmcdSigner(t)
	n := startAirgapNode(t, simssh.NewK3s(), "127.0.9.1", "node1", "pi", "aarch64", signer)
	p := cluster.NewPool(cluster.Config{User: "pi", Signer: signer})
	t.Cleanup(func() { p.Close() })
	r, err := p.Dial(t.Context(), n.Node)
	if err != nil {
		t.Fatal(err)
	}
	const dst = "/usr/local/bin/k3s"
	err = cluster.Upload(t.Context(), truncating{r}, dst, 0o755, true, strings.NewReader(strings.Repeat("k3s", 1000)))
	if !errors.Is(err, cluster.ErrUploadCorrupt) {
		t.Fatalf("err %v, want ErrUploadCorrupt", err)
	}
	for _, p := range []string{dst, dst + ".bmcd-upload"} {
		if _, _, _, ok := n.k3s.Files().Stat(p); ok {
			t.Errorf("%s left on the node", p)
		}
	}
	if err := cluster.Upload(t.Context(), r, dst, 0o755, true, strings.NewReader("whole")); err != nil {
		t.Fatal(err)
	}
	if size, _, _, ok := n.k3s.Files().Stat(dst); !ok || size != 5 {
		t.Errorf("whole upload: %d bytes, %v", size, ok)
	}
}
