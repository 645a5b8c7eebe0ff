package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/hal/sim/simssh"
)

// benchLatency models how long k3s takes to come up, scaled down 1:500
// from assumed figures for Pi-class nodes on eMMC: a first server 60 s,
// a server joining embedded etcd 45 s, an agent 30 s. (No measurement is
// published; k3s's own end-to-end tests and k3s-ansible allow minutes.)
var benchLatency = simssh.InstallLatency{
	FirstServer: 120 * time.Millisecond,
	ServerJoin:  90 * time.Millisecond,
	Agent:       60 * time.Millisecond,
}

// BenchmarkBootstrap installs k3s on 4 (1 server, 3 agents) and 7
// (3 servers, 4 agents) simulated nodes over SSH, each iteration on fresh
// nodes, as bmcd does (servers in turn, agents in parallel) and one node
// at a time, and reports both and their ratio. The simulated k3s takes
// benchLatency to come up and takes one etcd learner at a time.
//
//	go test -run '^$' -bench BenchmarkBootstrap ./bmc/cluster/
func BenchmarkBootstrap(b *testing.B) {
	for _, shape := range []struct{ servers, agents int }{{1, 3}, {3, 4}} {
		b.Run(fmt.Sprintf("nodes=%d", shape.servers+shape.agents), func(b *testing.B) {
			var took [2]time.Duration // bmcd's order, one at a time
			for i := 0; b.Loop(); i++ {
				for mode, oneAtATime := range []bool{false, true} {
					took[mode] += bootstrapOnce(b, shape.servers, shape.agents, oneAtATime, fmt.Sprintf("127.0.%d.", 20+shape.servers+shape.agents))
				}
			}
			n := float64(b.N)
			par, seq := took[0].Seconds()*1000/n, took[1].Seconds()*1000/n
			b.ReportMetric(par, "ms-bmcd/op")
			b.ReportMetric(seq, "ms-one-at-a-time/op")
			b.ReportMetric(seq/par, "speedup")
		})
	}
}

// bootstrapOnce starts fresh simulated nodes and times one Install.
func bootstrapOnce(b *testing.B, servers, agents int, oneAtATime bool, net string) time.Duration {
	b.Helper()
	signer := bmcdSigner(b)
	w := simssh.NewK3s()
	w.SetInstallLatency(benchLatency)
	spec := cluster.InstallSpec{Token: cluster.NewToken(), OneAtATime: oneAtATime, ReadyInterval: 5 * time.Millisecond}
	for i := range servers + agents {
		n := simK3sNode(b, w, fmt.Sprintf("%s%d", net, i+1), fmt.Sprintf("node%d", i+1), signer)
		if i < servers {
			spec.Servers = append(spec.Servers, n)
		} else {
			spec.Agents = append(spec.Agents, n)
		}
	}
	pool := cluster.NewPool(cluster.Config{Signer: signer})
	defer pool.Close()
	start := time.Now()
	if _, err := cluster.Install(b.Context(), pool, spec); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}
