package web_test

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/web"
)

// The page's own rules, checked on the embedded files: what a strict
// Content-Security-Policy would refuse, and modules that would 404.

var (
	importRE = regexp.MustCompile(`(?:from\s+|import\(|load\()\s*"([^"]+)"`)
	srcRE    = regexp.MustCompile(`(?:src|href)="([^"#]+)"`)
	inlineRE = regexp.MustCompile(`(?i)<script(?:\s+type="module")?\s*>|\son[a-z]+=|\sstyle=|<style|javascript:`)
	remoteRE = regexp.MustCompile(`(?i)(?:src|href)="(?:https?:)?//|import\(\s*"https?:|from\s+"https?:`)
)

// vendored are the files make copies from npm; a plain go build has
// none of them, and the console view says so.
var vendored = map[string]bool{"/vendor/xterm.mjs": true, "/vendor/addon-fit.mjs": true, "/vendor/xterm.css": true}

func TestStaticFiles(t *testing.T) {
	t.Parallel()
	st := web.Static()
	h, err := web.New(st)
	require.NoError(t, err)
	var texts int
	require.NoError(t, fs.WalkDir(st, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, "vendor/") {
			return err
		}
		ext := path.Ext(p)
		if ext != ".js" && ext != ".html" && ext != ".css" && ext != ".webmanifest" {
			return nil
		}
		texts++
		b, err := fs.ReadFile(st, p)
		require.NoError(t, err)
		text := string(b)
		assert.NotRegexp(t, inlineRE, text, "%s: inline script or style is refused by the CSP", p)
		assert.NotRegexp(t, remoteRE, text, "%s: nothing is loaded from outside bmcd", p)
		refs := importRE.FindAllStringSubmatch(text, -1)
		if ext == ".html" {
			refs = append(refs, srcRE.FindAllStringSubmatch(text, -1)...)
		}
		for _, m := range refs {
			ref := m[1]
			if !strings.HasPrefix(ref, "/") {
				ref = path.Join("/", path.Dir(p), ref)
			}
			if !vendored[ref] {
				assert.True(t, h.Has(ref), "%s refers to %s, which is not embedded", p, m[1])
			}
		}
		return nil
	}))
	assert.Greater(t, texts, 8, "the page's files are embedded")
	for _, p := range []string{"/index.html", "/app.js", "/app.css", "/manifest.webmanifest", "/icon.svg", "/icon-192.png", "/icon-512.png",
		"/pages/login.js", "/pages/board.js", "/pages/flash.js", "/pages/console.js", "/pages/cluster.js", "/pages/settings.js"} {
		assert.True(t, h.Has(p), p)
	}
}

// TestPageWeight keeps the whole page, xterm.js included when make put
// it in place, under half a megabyte as stored in the binary.
func TestPageWeight(t *testing.T) {
	t.Parallel()
	var raw int64
	require.NoError(t, fs.WalkDir(web.Static(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			raw += fi.Size()
		}
		return err
	}))
	assert.Less(t, raw, int64(512_000), "the page's files in bytes")
}
