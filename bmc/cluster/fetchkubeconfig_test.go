package cluster_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/bmc/cluster/clustertest"
	"github.com/turingpi-oss/bmcd/bmc/cluster/kubeconfig"
)

// kubeconfigTestdata is package kubeconfig's testdata: the k3s.yaml a
// server writes and its rewrite's golden file.
func kubeconfigTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("kubeconfig", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFetchKubeconfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		answer  clustertest.Answer
		wantErr error
	}{
		{"k3s.yaml", clustertest.Answer{Stdout: string(kubeconfigTestdata(t, "k3s.yaml"))}, nil},
		{"not installed", clustertest.Answer{Exit: 1}, nil},
		{"garbage", clustertest.Answer{Stdout: "clusters: {"}, kubeconfig.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &clustertest.Runner{Name: "node1", Answers: map[string]clustertest.Answer{cluster.CmdCatKubeconfig: tc.answer}}
			kc, err := cluster.FetchKubeconfig(t.Context(), r, "tpi", "192.168.1.50")
			switch {
			case tc.answer.Exit != 0:
				var exit *cluster.ExitError
				if !errors.As(err, &exit) {
					t.Fatalf("err = %v, want the command's exit", err)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			default:
				got, err := kc.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				if want := kubeconfigTestdata(t, "k3s-rewritten.golden"); !bytes.Equal(got, want) {
					t.Errorf("rewritten kubeconfig differs from kubeconfig/testdata/k3s-rewritten.golden:\n%s", got)
				}
			}
		})
	}
}
