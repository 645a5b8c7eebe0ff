package cluster_test

import (
	"os"
	"testing"

	"github.com/turingpi-oss/bmcd/bmc/cluster/clustertest"
)

// TestMain removes the k3s stand-in the namespace tests built.
func TestMain(m *testing.M) {
	os.Exit(clustertest.RunMain(m))
}
