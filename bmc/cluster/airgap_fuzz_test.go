package cluster_test

import (
	"path"
	"slices"
	"testing"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
)

// FuzzCheckAirgapName: a name the check accepts is a plain file name
// (uploads are stored under it) and one of the files an install picks.
func FuzzCheckAirgapName(f *testing.F) {
	for _, s := range []string{"install.sh", "k3s", "k3s-arm64", "k3s-armhf", "k3s-airgap-images-arm.tar.zst", "../k3s", "k3s/", "", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if cluster.CheckAirgapName(name) != nil {
			return
		}
		if path.Base(name) != name || name == "." || name == ".." {
			t.Fatalf("accepted %q, not a plain file name", name)
		}
		known := name == cluster.AirgapScript
		for _, arch := range []string{"amd64", "arm64", "arm"} {
			known = known || name == cluster.AirgapBinary(arch) || slices.Contains(cluster.AirgapImages(arch), name)
		}
		if !known {
			t.Fatalf("accepted %q, which no install picks", name)
		}
	})
}
