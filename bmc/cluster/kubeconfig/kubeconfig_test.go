package kubeconfig_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/turingpi-oss/bmcd/bmc/cluster/kubeconfig"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func marshal(t *testing.T, kc *kubeconfig.Config) []byte {
	t.Helper()
	b, err := kc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRewriteK3s(t *testing.T) {
	t.Parallel()
	kc, err := kubeconfig.RewriteK3s(readTestdata(t, "k3s.yaml"), "tpi", "192.168.1.50")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "k3s-rewritten.golden", marshal(t, kc))
}

func TestRewriteK3sServerHost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, server, host, want string
	}{
		{"ipv4", "https://127.0.0.1:6443", "10.0.0.2", "https://10.0.0.2:6443"},
		{"ipv6 host", "https://127.0.0.1:6443", "fd00::2", "https://[fd00::2]:6443"},
		{"other port kept", "https://[::1]:7443", "node1.local", "https://node1.local:7443"},
		{"no port", "https://localhost", "10.0.0.2", "https://10.0.0.2:6443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := "clusters:\n- name: default\n  cluster:\n    server: " + tc.server +
				"\ncontexts:\n- name: default\n  context: {cluster: default, user: default}\n" +
				"users:\n- name: default\n  user: {token: x}\n"
			kc, err := kubeconfig.RewriteK3s([]byte(in), "c", tc.host)
			if err != nil {
				t.Fatal(err)
			}
			if got := kc.Clusters[0].Body["server"]; got != tc.want {
				t.Errorf("server = %v, want %s", got, tc.want)
			}
		})
	}
}

func TestRewriteK3sErrors(t *testing.T) {
	t.Parallel()
	one := "contexts:\n- name: default\n  context: {cluster: default, user: default}\n" +
		"users:\n- name: default\n  user: {token: x}\n"
	for _, tc := range []struct{ name, in string }{
		{"not yaml", "clusters: [\n"},
		{"wrong kind", "kind: Pod\n"},
		{"no cluster", one},
		{"two clusters", "clusters:\n- name: a\n  cluster: {server: 'https://a:1'}\n- name: b\n  cluster: {server: 'https://b:1'}\n" + one},
		{"http server", "clusters:\n- name: a\n  cluster: {server: 'http://a:1'}\n" + one},
		{"no server", "clusters:\n- name: a\n  cluster: {}\n" + one},
		{"unnamed entry", "clusters:\n- cluster: {server: 'https://a:1'}\n" + one},
		{"body not a mapping", "clusters:\n- name: a\n  cluster: [1]\n" + one},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := kubeconfig.RewriteK3s([]byte(tc.in), "c", "10.0.0.2")
			if !errors.Is(err, kubeconfig.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	add, err := kubeconfig.RewriteK3s(readTestdata(t, "k3s.yaml"), "tpi", "192.168.1.50")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, existing, golden string }{
		{"replaces entries of that name", "kube-config-existing.yaml", "merge-replace.golden"},
		{"no existing config", "", "merge-empty.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var existing []byte
			if tc.existing != "" {
				existing = readTestdata(t, tc.existing)
			}
			kc, err := kubeconfig.Merge(existing, add, "tpi")
			if err != nil {
				t.Fatal(err)
			}
			out := marshal(t, kc)
			golden(t, tc.golden, out)
			// Merging the result again changes nothing: no duplicates.
			again, err := kubeconfig.Merge(out, add, "tpi")
			if err != nil {
				t.Fatal(err)
			}
			if got := marshal(t, again); !bytes.Equal(got, out) {
				t.Errorf("second merge differs:\n%s", got)
			}
		})
	}
}

func TestMergeErrors(t *testing.T) {
	t.Parallel()
	add, err := kubeconfig.RewriteK3s(readTestdata(t, "k3s.yaml"), "tpi", "192.168.1.50")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kubeconfig.Merge([]byte("users: {}\n"), add, "tpi"); !errors.Is(err, kubeconfig.ErrInvalid) {
		t.Errorf("bad existing: err = %v, want ErrInvalid", err)
	}
	if _, err := kubeconfig.Merge(nil, add, "other"); !errors.Is(err, kubeconfig.ErrInvalid) {
		t.Errorf("name not in new config: err = %v, want ErrInvalid", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"k3s.yaml", "kube-config-existing.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("clusters:\n- name: a\n  cluster: [1]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		kc, err := kubeconfig.Parse(data)
		if err != nil {
			return
		}
		out, err := kc.Marshal()
		if err != nil {
			t.Fatalf("marshal of parsed config: %v", err)
		}
		kc2, err := kubeconfig.Parse(out)
		if err != nil {
			t.Fatalf("reparse of marshalled config: %v\n%s", err, out)
		}
		out2, err := kc2.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out, out2) {
			t.Errorf("marshal not stable:\n%s\n---\n%s", out, out2)
		}
	})
}

// FuzzMerge: whatever the existing file holds, a merge either fails (the
// file is not a kubeconfig) or yields a config that parses again and
// holds exactly one cluster, context and user of the merged name.
func FuzzMerge(f *testing.F) {
	for _, name := range []string{"kube-config-existing.yaml", "merge-replace.golden", "k3s.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("clusters:\n- name: tpi\n- name: tpi\n"))
	k3s, err := os.ReadFile(filepath.Join("testdata", "k3s.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	add, err := kubeconfig.RewriteK3s(k3s, "tpi", "192.168.1.50")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, existing []byte) {
		kc, err := kubeconfig.Merge(existing, add, "tpi")
		if err != nil {
			return
		}
		out, err := kc.Marshal()
		if err != nil {
			t.Fatalf("marshal of merged config: %v", err)
		}
		again, err := kubeconfig.Parse(out)
		if err != nil {
			t.Fatalf("merged config does not parse: %v\n%s", err, out)
		}
		for _, l := range [][]kubeconfig.NamedEntry{again.Clusters, again.Contexts, again.Users} {
			n := 0
			for _, e := range l {
				if e.Name == "tpi" {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d entries named tpi after the merge:\n%s", n, out)
			}
		}
	})
}
