package api_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

// keystroke sends one byte over ws and waits for the node's echo of it.
func keystroke(ctx context.Context, ws *websocket.Conn, key byte) error {
	if err := ws.Write(ctx, websocket.MessageBinary, []byte{key}); err != nil {
		return err
	}
	got, _, err := readBytes(ctx, ws, 1)
	if err != nil {
		return err
	}
	if got[0] != key || len(got) != 1 {
		return fmt.Errorf("echo %q, want %q", got, key)
	}
	return nil
}

// BenchmarkConsoleKeystroke measures a keystroke's round trip: WebSocket
// frame in, serialized UART write into a real pseudo-terminal, the
// node's echo read by the console's reader, fan-out, WebSocket frame out.
func BenchmarkConsoleKeystroke(b *testing.B) {
	f := newConsoleFixture(b, 0)
	f.node.Echo()
	ws, _ := f.dial(b, "?history=0")
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := keystroke(ctx, ws, 'a'+byte(i%26)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConsoleThroughput streams node output to N WebSocket clients
// at once. MB/s is what each client receives; a 1.5 Mbaud UART carries
// at most 0.15 MB/s.
func BenchmarkConsoleThroughput(b *testing.B) {
	const block = 64 << 10
	for _, clients := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			f := newConsoleFixture(b, 4<<20)
			conns := make([]*websocket.Conn, clients)
			for i := range conns {
				conns[i], _ = f.dial(b, "?history=0")
			}
			data := make([]byte, block)
			for i := range data {
				data[i] = byte(i)
			}
			ctx := context.Background()
			b.SetBytes(block)
			start := time.Now()
			n := 0
			for b.Loop() {
				var wg sync.WaitGroup
				for _, ws := range conns {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, _, err := readBytes(ctx, ws, block); err != nil {
							b.Error(err)
						}
					}()
				}
				if _, err := f.node.Master.Write(data); err != nil {
					b.Fatal(err)
				}
				wg.Wait()
				n++
			}
			b.ReportMetric(float64(n*block)/time.Since(start).Seconds()/1e6, "MB/s/client")
		})
	}
}

// BenchmarkConsoleAt1500kbaud feeds the port at a 1.5 Mbaud UART's rate
// (150,000 bytes/s, in 10 ms slices) for one second per op, to 100
// WebSocket clients that keep up plus one that never reads, with the
// default 256 KiB history. It reports the bytes the readers missed
// (budget: none) and the worst lag of a reader behind the port at the
// end of an op.
func BenchmarkConsoleAt1500kbaud(b *testing.B) {
	const (
		clients = 100
		rate    = 150000
		slice   = 10 * time.Millisecond
		perOp   = rate // one second
	)
	f := newConsoleFixture(b, 0)
	stuck, _ := f.dial(b, "?history=0")
	_ = stuck
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		conns[i], _ = f.dial(b, "?history=0")
	}
	chunk := make([]byte, rate*int(slice)/int(time.Second))
	for i := range chunk {
		chunk[i] = byte(i)
	}
	ctx := context.Background()
	var missed, worstLag int64
	for b.Loop() {
		var mu sync.Mutex
		var wg sync.WaitGroup
		arrived := make([]time.Time, len(conns))
		for i, ws := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, msgs, err := readBytes(ctx, ws, perOp)
				if err != nil {
					b.Error(err)
				}
				arrived[i] = time.Now()
				mu.Lock()
				for _, m := range msgs {
					missed += m.Bytes
				}
				mu.Unlock()
			}()
		}
		t := time.NewTicker(slice)
		for sent := 0; sent < perOp; sent += len(chunk) {
			<-t.C
			if _, err := f.node.Master.Write(chunk[:min(len(chunk), perOp-sent)]); err != nil {
				b.Fatal(err)
			}
		}
		t.Stop()
		end := time.Now()
		wg.Wait()
		for _, a := range arrived {
			worstLag = max(worstLag, int64(a.Sub(end)))
		}
	}
	b.ReportMetric(float64(missed), "missed_bytes")
	b.ReportMetric(float64(worstLag)/1e6, "worst_lag_ms")
}

// TestConsoleLatencyReport prints keystroke-to-echo latency percentiles
// through the WebSocket on loopback; run with -latency-report.
func TestConsoleLatencyReport(t *testing.T) {
	if !*latencyReport {
		t.Skip("run with -latency-report (make bench-console)")
	}
	const keys = 2000
	f := newConsoleFixture(t, 0)
	f.node.Echo()
	ws, _ := f.dial(t, "?history=0")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lat := make([]time.Duration, 0, keys)
	for i := range keys {
		t0 := time.Now()
		require.NoError(t, keystroke(ctx, ws, 'a'+byte(i%26)))
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	t.Logf("keystroke to echo through the console WebSocket: keys=%d p50=%v p99=%v max=%v",
		len(lat), pct(0.50), pct(0.99), lat[len(lat)-1])
}
