package console

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkThroughput measures how fast node output goes from a pty master
// through the reader and the ring to every client. One op is 64 KiB written
// by the node and received by all clients. Besides MB/s it reports the
// figure as a multiple of a UART at 1.5 Mbaud (0.15 MB/s), and the share
// of bytes clients missed because they fell a whole ring behind.
func BenchmarkThroughput(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) { benchThroughput(b, n) })
	}
}

func benchThroughput(b *testing.B, clients int) {
	const chunk = 64 << 10
	p := newPTY(b)
	c := newTestConsole(b, Config{Device: p.path, BufferSize: 1 << 20})
	waitOpen(b, c)
	data := pattern(chunk)
	total := int64(b.N) * chunk
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var (
		wg     sync.WaitGroup
		missed atomic.Int64
		failed atomic.Value
	)
	cls := make([]*Client, clients)
	for i := range cls {
		cls[i] = c.Attach(0)
		defer cls[i].Close()
	}
	b.SetBytes(chunk)
	b.ResetTimer()
	start := time.Now()
	for _, cl := range cls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Missed bytes count as progress so that a client that falls
			// behind still terminates.
			for got := int64(0); got < total; {
				ch, err := cl.Next(ctx)
				if err != nil {
					failed.Store(err)
					return
				}
				missed.Add(ch.Missed)
				got += ch.Missed + int64(len(ch.Data))
			}
		}()
	}
	require.NoError(b, p.master.SetWriteDeadline(time.Now().Add(2*time.Minute)))
	for range b.N {
		if _, err := p.master.Write(data); err != nil {
			cancel()
			wg.Wait()
			b.Fatalf("node write: %v", err)
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatalf("client: %v", err)
	}
	mbps := float64(total) / elapsed.Seconds() / 1e6
	b.ReportMetric(mbps, "MB/s")
	b.ReportMetric(mbps/0.15, "x1.5Mbaud")
	b.ReportMetric(100*float64(missed.Load())/float64(total*int64(clients)), "%missed")
}
