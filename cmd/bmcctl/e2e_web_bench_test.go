package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/web"
)

// BenchmarkWebFirstLoad: a phone that has never seen the page opens the
// board on the simulated board (empty cache: a browser context of its
// own each time), until the four cards show the measured power. It
// reports the time and the bytes that came over the wire for it, and
// the size of the whole page (console included) as gzip sends it.
func BenchmarkWebFirstLoad(b *testing.B) {
	d := startBMCD(b, b.TempDir())
	body, err := json.Marshal(map[string]string{"username": "admin", "password": d.password})
	require.NoError(b, err)
	resp, err := http.Post(d.url+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	require.NoError(b, err)
	var login struct {
		Token string `json:"token"`
	}
	require.NoError(b, json.NewDecoder(resp.Body).Decode(&login))
	resp.Body.Close()
	require.NotEmpty(b, login.Token)

	site, err := web.New(web.Static())
	require.NoError(b, err)
	files, wire := site.Size()

	var total time.Duration
	var transferred float64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		p := openPage(b, d, phone)
		// The session is there, as after a login: the load measured is
		// the board's.
		p.do(chromedp.Navigate(d.url + "/healthz"))
		eval[chromedp.Void](p, fmt.Sprintf(`localStorage.setItem("bmcd.token", %q)`, login.Token))
		b.StartTimer()
		start := time.Now()
		p.do(chromedp.Navigate(d.url + "/#/board"))
		p.waitFor(`document.querySelectorAll("#slots .card .power").length === 4`, "the board")
		total += time.Since(start)
		b.StopTimer()
		transferred += eval[float64](p, `performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource"))
			.filter(e => !e.name.includes("/api/") && !e.name.endsWith("/healthz")).reduce((n, e) => n + e.transferSize, 0)`)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/first-load")
	b.ReportMetric(transferred/float64(b.N), "wire-bytes/first-load")
	b.ReportMetric(float64(wire), "page-gzip-bytes")
	b.ReportMetric(float64(files), "page-files")
}
