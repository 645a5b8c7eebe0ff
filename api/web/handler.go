package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed static
var embedded embed.FS

// Static is the page's files as embedded in the binary, rooted at the
// directory that "/" serves.
func Static() fs.FS {
	sub, err := fs.Sub(embedded, "static")
	if err != nil {
		panic(err) // "static" is a valid path: fs.Sub cannot fail on it
	}
	return sub
}

// Default is the Handler of the embedded page, made once per process
// (compressing xterm.js takes a moment; every api.Server of a test run
// shares it).
var Default = sync.OnceValues(func() (*Handler, error) { return New(Static()) })

// file is one servable file with its precomputed representations.
type file struct {
	contentType string
	body        []byte
	etag        string
	// gz is the gzip-compressed body, nil when compression does not make
	// it smaller (images already compressed).
	gz     []byte
	gzETag string
}

// Handler serves the page's files. It implements http.Handler.
type Handler struct {
	files map[string]*file
}

var _ http.Handler = (*Handler)(nil)

// New reads every file of fsys and compresses it once.
func New(fsys fs.FS) (*Handler, error) {
	h := &Handler{files: map[string]*file{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("web: read %s: %w", p, err)
		}
		f, err := newFile(p, body)
		if err != nil {
			return err
		}
		h.files["/"+p] = f
		return nil
	})
	if err != nil {
		return nil, err
	}
	if h.files["/index.html"] == nil {
		return nil, fmt.Errorf("web: no index.html among the %d files", len(h.files))
	}
	return h, nil
}

func newFile(name string, body []byte) (*file, error) {
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:12])
	f := &file{contentType: contentType(name), body: body, etag: `"` + tag + `"`}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("web: gzip %s: %w", name, err)
	}
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("web: gzip %s: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("web: gzip %s: %w", name, err)
	}
	if buf.Len() < len(body) {
		f.gz = buf.Bytes()
		f.gzETag = `"` + tag + `-gz"`
	}
	return f, nil
}

// contentTypes maps the extensions the page uses; anything else is
// served as bytes.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".txt":         "text/plain; charset=utf-8",
}

func contentType(name string) string {
	if ct, ok := contentTypes[path.Ext(name)]; ok {
		return ct
	}
	return "application/octet-stream"
}

// Size reports the bytes a browser downloads for the whole page: the
// gzip-compressed size where compression helps, else the file's. The
// console's files (vendor/) are counted too.
func (h *Handler) Size() (files int, wire int64) {
	for _, f := range h.files {
		files++
		if f.gz != nil {
			wire += int64(len(f.gz))
		} else {
			wire += int64(len(f.body))
		}
	}
	return files, wire
}

// Has says whether the page includes the file at the URL path p.
func (h *Handler) Has(p string) bool { return h.files[p] != nil }

// ServeHTTP implements http.Handler: GET and HEAD of a file, "/" being
// index.html.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "/" {
		p = "/index.html"
	}
	f := h.files[p]
	if f == nil {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("Cache-Control", "no-cache")
	body, etag := f.body, f.etag
	if f.gz != nil {
		hdr.Set("Vary", "Accept-Encoding")
		if AcceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = f.gz, f.gzETag
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		hdr.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body) // a client that went away needs no answer
}

// etagMatches reports whether an If-None-Match header lists etag (or is
// "*"). Weak validators match too: the comparison for a GET is weak.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
