package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/web"
)

var (
	indexHTML = []byte("<!doctype html><title>t</title>" + string(bytes.Repeat([]byte("<p>hello</p>"), 50)))
	appJS     = []byte("export const x = 1;\n" + string(bytes.Repeat([]byte("// padding so that gzip pays\n"), 20)))
	// A PNG does not shrink: it is served as it is, to every client.
	iconPNG = []byte{0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3}
)

func testHandler(t *testing.T) *web.Handler {
	t.Helper()
	h, err := web.New(fstest.MapFS{
		"index.html":           {Data: indexHTML},
		"app.js":               {Data: appJS},
		"pages/board.js":       {Data: appJS},
		"icon.png":             {Data: iconPNG},
		"manifest.webmanifest": {Data: []byte(`{"name":"bmcd"}`)},
	})
	require.NoError(t, err)
	return h
}

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.Header.Get("Content-Encoding") == "gzip" && len(b) > 0 {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		require.NoError(t, err)
		b, err = io.ReadAll(zr)
		require.NoError(t, err)
	}
	return b
}

func TestServe(t *testing.T) {
	t.Parallel()
	h := testHandler(t)
	tests := []struct {
		name, method, path, acceptEncoding string
		status                             int
		contentType, encoding              string
		want                               []byte
	}{
		{name: "root is index.html", method: "GET", path: "/", acceptEncoding: "gzip, deflate, br", status: 200, contentType: "text/html; charset=utf-8", encoding: "gzip", want: indexHTML},
		{name: "identity without Accept-Encoding", method: "GET", path: "/", status: 200, contentType: "text/html; charset=utf-8", want: indexHTML},
		{name: "identity when gzip is refused", method: "GET", path: "/app.js", acceptEncoding: "gzip;q=0, br", status: 200, contentType: "text/javascript; charset=utf-8", want: appJS},
		{name: "module in a folder", method: "GET", path: "/pages/board.js", acceptEncoding: "gzip", status: 200, contentType: "text/javascript; charset=utf-8", encoding: "gzip", want: appJS},
		{name: "png never compressed", method: "GET", path: "/icon.png", acceptEncoding: "gzip", status: 200, contentType: "image/png", want: iconPNG},
		{name: "manifest", method: "GET", path: "/manifest.webmanifest", status: 200, contentType: "application/manifest+json", want: []byte(`{"name":"bmcd"}`)},
		{name: "head has no body", method: "HEAD", path: "/app.js", acceptEncoding: "gzip", status: 200, contentType: "text/javascript; charset=utf-8", encoding: "gzip", want: []byte{}},
		{name: "unknown file", method: "GET", path: "/nothing.js", status: 404},
		{name: "no directory listing", method: "GET", path: "/pages/", status: 404},
		{name: "no path tricks", method: "GET", path: "/pages/../app.js", status: 404},
		{name: "post refused", method: "POST", path: "/", status: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := get(t, h, tc.method, tc.path, map[string]string{"Accept-Encoding": tc.acceptEncoding})
			require.Equal(t, tc.status, resp.StatusCode)
			if tc.status != 200 {
				return
			}
			assert.Equal(t, tc.contentType, resp.Header.Get("Content-Type"))
			assert.Equal(t, tc.encoding, resp.Header.Get("Content-Encoding"))
			assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"), "browsers revalidate")
			assert.NotEmpty(t, resp.Header.Get("ETag"))
			assert.Equal(t, tc.want, body(t, resp))
		})
	}
}

func TestETag(t *testing.T) {
	t.Parallel()
	h := testHandler(t)
	gz := get(t, h, "GET", "/app.js", map[string]string{"Accept-Encoding": "gzip"})
	plain := get(t, h, "GET", "/app.js", nil)
	require.Equal(t, 200, gz.StatusCode)
	assert.NotEqual(t, gz.Header.Get("ETag"), plain.Header.Get("ETag"), "each representation has its own tag")
	assert.Equal(t, "Accept-Encoding", gz.Header.Get("Vary"))

	again := get(t, h, "GET", "/app.js", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": gz.Header.Get("ETag")})
	assert.Equal(t, http.StatusNotModified, again.StatusCode)
	assert.Empty(t, body(t, again))
	weak := get(t, h, "GET", "/app.js", map[string]string{"If-None-Match": `"x", W/` + plain.Header.Get("ETag")})
	assert.Equal(t, http.StatusNotModified, weak.StatusCode, "weak comparison for GET")
	other := get(t, h, "GET", "/app.js", map[string]string{"If-None-Match": gz.Header.Get("ETag")})
	assert.Equal(t, http.StatusOK, other.StatusCode, "the gzip tag does not validate the plain file")
	changed := get(t, h, "GET", "/index.html", map[string]string{"If-None-Match": plain.Header.Get("ETag")})
	assert.Equal(t, http.StatusOK, changed.StatusCode, "another file's tag")
}

func TestNewNeedsIndex(t *testing.T) {
	t.Parallel()
	_, err := web.New(fstest.MapFS{"app.js": {Data: appJS}})
	assert.ErrorContains(t, err, "index.html")
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"deflate, gzip;q=0.8", true},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"x-gzip", true},
		{"br", false},
		{"*", true},
		{"*;q=0", false},
		{"*, gzip;q=0", false},
		{"gzip;q=abc", false},
		{"gzip;q=2", false},
		{"identity", false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, web.AcceptsGzip(tc.header), "%q", tc.header)
	}
}

func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0", "*, br;q=1.0", "x-gzip; q=0.5", ";;,,q="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := web.AcceptsGzip(header)
		// Without the word gzip or a star, nothing allows gzip.
		if got && !bytes.Contains(bytes.ToLower([]byte(header)), []byte("gzip")) && !bytes.Contains([]byte(header), []byte("*")) {
			t.Fatalf("AcceptsGzip(%q) = true", header)
		}
	})
}
