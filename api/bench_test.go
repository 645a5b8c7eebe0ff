package api_test

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var latencyReport = flag.Bool("latency-report", false, "run TestPowerLatencyReport (make bench-api)")

// powerRequest sends one power action for slot with the fixture's token.
func (f *fixture) powerRequest(client *http.Client, slot int, action string) error {
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/slots/%d/power", f.srv.URL, slot),
		strings.NewReader(`{"action":"`+action+`"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// BenchmarkPowerRoundTrip measures one power action through the HTTP API
// on the simulated board: request, auth, JSON, per-slot lock, hardware
// write, read-back, event, response.
func BenchmarkPowerRoundTrip(b *testing.B) {
	f := newFixture(b)
	client := f.srv.Client()
	actions := [2]string{"on", "off"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := f.powerRequest(client, 1, actions[i%2]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPowerLatencyReport prints p50/p99 of the power round trip with
// several concurrent clients, each on its own slot. It asserts nothing
// about time (timing belongs in reports, not in pass/fail) and runs only
// with -latency-report.
func TestPowerLatencyReport(t *testing.T) {
	if !*latencyReport {
		t.Skip("run with -latency-report (make bench-api)")
	}
	const perClient = 2000
	for _, clients := range []int{1, 4, 16} {
		f := newFixture(t)
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		start := time.Now()
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
				slot := c%4 + 1
				own := make([]time.Duration, 0, perClient)
				for i := range perClient {
					action := "on"
					if i%2 == 1 {
						action = "off"
					}
					t0 := time.Now()
					require.NoError(t, f.powerRequest(client, slot, action))
					own = append(own, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, own...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		total := time.Since(start)
		slices.Sort(lat)
		pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
		t.Logf("clients=%-3d requests=%-6d p50=%-10v p99=%-10v max=%-10v throughput=%.0f req/s",
			clients, len(lat), pct(0.50), pct(0.99), lat[len(lat)-1], float64(len(lat))/total.Seconds())
	}
}
