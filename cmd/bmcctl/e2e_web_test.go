package main_test

// End-to-end tests of the web page: Debian's Chromium, headless, drives
// the page that a real bmcd on the simulated board serves, at a phone's
// size (390×844, touch, 3 device pixels per CSS pixel) and a desktop's.
// One browser serves every test; each test has its own tabs in their own
// browser contexts (no shared storage), so the tests run in parallel.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// Viewports: a phone (an iPhone 12–15 in CSS pixels) and a desktop.
type viewport struct {
	width, height int64
	phone         bool
}

var (
	phone   = viewport{390, 844, true}
	desktop = viewport{1280, 800, false}
)

// shared is the one browser of the test run, closed by TestMain.
var shared struct {
	once   sync.Once
	ctx    context.Context
	close  func()
	err    error
	tmpDir string
}

// browser starts Chromium once per test run. In CI a missing Chromium
// fails the test; elsewhere it skips.
func browser(t testing.TB) context.Context {
	t.Helper()
	bin := "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		p, lerr := exec.LookPath("chromium")
		if lerr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("chromium is missing (make deps installs it)")
			}
			t.Skip("chromium is not installed")
		}
		bin = p
	}
	shared.once.Do(func() {
		shared.tmpDir, shared.err = os.MkdirTemp("", "bmcd-e2e-chromium-")
		if shared.err != nil {
			return
		}
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(bin),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.UserDataDir(shared.tmpDir),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-extensions", true),
			// A hidden tab must keep its timers and its streams, as a
			// phone's page in front does.
			chromedp.Flag("disable-background-timer-throttling", true),
			chromedp.Flag("disable-renderer-backgrounding", true),
			chromedp.Flag("disable-backgrounding-occluded-windows", true),
		)
		bctx, cancelBrowser := chromedp.NewContext(actx)
		// Start the browser now, on a blank first tab.
		shared.err = chromedp.Do(bctx, chromedp.Navigate("about:blank"))
		shared.ctx = bctx
		shared.close = func() {
			cancelBrowser()
			cancelAlloc()
			_ = os.RemoveAll(shared.tmpDir)
		}
	})
	require.NoError(t, shared.err, "start chromium")
	return shared.ctx
}

// closeBrowser ends the shared browser; TestMain calls it.
func closeBrowser() {
	if shared.close != nil {
		shared.close()
	}
}

// page is one browser tab on a bmcd.
type page struct {
	t   testing.TB
	ctx context.Context
	d   *daemon
	// log has the tab's failed requests and uncaught exceptions, told
	// when a wait fails.
	log *syncBuffer
}

// openPage opens a tab, in a browser context of its own, sized as vp.
func openPage(t testing.TB, d *daemon, vp viewport) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	opts := []chromedp.EmulateViewportOption{}
	if vp.phone {
		opts = append(opts, chromedp.EmulateScale(3), chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	p := &page{t: t, ctx: ctx, d: d, log: &syncBuffer{}}
	failed := chromedp.Events(ctx, network.LoadingFailed)
	thrown := chromedp.Events(ctx, cdpruntime.ExceptionThrown)
	go func() {
		for ev, err := range failed {
			if err != nil {
				return
			}
			fmt.Fprintf(p.log, "request failed: %s %s\n", ev.Type, ev.ErrorText)
		}
	}()
	go func() {
		for ev, err := range thrown {
			if err != nil {
				return
			}
			if d := ev.ExceptionDetails; d != nil {
				desc := d.Text
				if d.Exception != nil {
					desc += " " + d.Exception.Description
				}
				fmt.Fprintf(p.log, "exception: %s (%s:%d)\n", desc, d.URL, d.LineNumber+1)
			}
		}
	}()
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height, opts...)))
	return p
}

// do runs actions, failing the test on an error.
func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx, actions...))
}

// open navigates to the hash route (such as "#/board").
func (p *page) open(route string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.d.url + "/" + route))
}

// waitFor waits until the JavaScript expression is true in the page.
func (p *page) waitFor(expr, what string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 40*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(0)))
	if err != nil {
		p.t.Fatalf("waiting for %s (%s): %v\npage text:\n%s\nbrowser:\n%s\nbmcd:\n%s", what, expr, err, p.text("body"), p.log, p.d.stderr)
	}
}

// text is the visible text of the first element matching the CSS
// selector, "" when there is none.
func (p *page) text(css string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q)?.innerText ?? ""`, css)))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return s
}

// eval runs JavaScript and decodes its value.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(p.t, err, expr)
	return v
}

// click clicks the element matching the CSS selector once it is visible.
func (p *page) click(css string) {
	p.t.Helper()
	p.do(chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
}

// login fills in the login form.
func (p *page) login(password string) {
	p.t.Helper()
	p.waitFor(`!!document.querySelector("#password")`, "the login form")
	p.do(chromedp.SetValue(chromedp.ID("password"), password))
	p.click(`form.login button[type=submit]`)
}

// confirm answers the confirmation dialog with OK.
func (p *page) confirm() {
	p.t.Helper()
	p.waitFor(`document.querySelector("#confirm").open`, "the confirmation dialog")
	p.click("#confirm-ok")
	p.waitFor(`!document.querySelector("#confirm").open`, "the dialog to close")
}

// screenshot writes the page, at its full height, to
// docs/screenshots/NAME.png when UPDATE_SCREENSHOTS=1.
func (p *page) screenshot(name string) {
	p.t.Helper()
	if os.Getenv("UPDATE_SCREENSHOTS") != "1" {
		return
	}
	// Let the fonts and the last frame settle: a screenshot is taken on
	// the next frame.
	p.waitFor(`document.fonts.status === "loaded"`, "fonts")
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(p.t, err)
	dir := filepath.Join("..", "..", "docs", "screenshots")
	require.NoError(p.t, os.MkdirAll(dir, 0o755))
	require.NoError(p.t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

// power is slot n's measured power as its card shows it.
func (p *page) cardPower(n int) string {
	return eval[string](p, fmt.Sprintf(`document.querySelector("#slot-%d .power")?.dataset.power ?? ""`, n))
}

// waitCard waits until slot n's card shows the power state.
func (p *page) waitCard(n int, power string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf(`document.querySelector("#slot-%d .power")?.dataset.power === %q`, n, power),
		fmt.Sprintf("slot %d's card to show %s", n, power))
}
