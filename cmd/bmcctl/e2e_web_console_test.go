//go:build linux

package main_test

import (
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEndToEndWebConsole: the console page shows node 2's boot log (the
// history bmcd kept), and what is typed in the terminal reaches the
// node, whose answer appears; the extra key row sends Ctrl-C.
func TestEndToEndWebConsole(t *testing.T) {
	t.Parallel()
	d := startBMCD(t, t.TempDir())
	home := t.TempDir()
	r := bmcctl(t, d, home, d.password+"\n", "login", "--password-stdin")
	require.Equal(t, 0, r.code, r.stderr)
	r = bmcctl(t, d, home, "", "power", "on", "2")
	require.Equal(t, 0, r.code, r.stderr)

	p := openPage(t, d, phone)
	p.open("#/console/2")
	p.login(d.password)
	screen := `(document.querySelector("#terminal .xterm-rows")?.innerText ?? "")`
	p.waitFor(screen+`.includes("node2 login:")`, "the boot log and the login prompt")
	assert.Contains(t, p.text("#console-status"), "115200 baud")
	// xterm.js's own styles apply under bmcd's strict CSP: the rows are
	// in the terminal's monospace font and its white on black.
	rows := `getComputedStyle(document.querySelector("#terminal .xterm-rows"))`
	p.waitFor(rows+`.fontFamily.includes("Mono") && `+rows+`.color === "rgb(255, 255, 255)"`, "xterm.js's styles")
	p.screenshot("console")

	// A line typed as a phone's keyboard does: the text is inserted
	// (as an IME would), then Enter is pressed. Enter is a key down and
	// up alone: a DevTools "char" event would come on top of the key
	// down that xterm.js handles, which no real keyboard sends.
	typeLine := func(text string) {
		t.Helper()
		p.do(chromedp.Focus(chromedp.CSS("#terminal textarea")))
		_, err := chromedp.Call(p.ctx, input.InsertText, input.InsertTextParams{Text: text})
		require.NoError(t, err)
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			_, err := chromedp.Call(p.ctx, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13})
			require.NoError(t, err)
		}
	}
	typeLine("pi")
	p.waitFor(screen+`.includes("Password:")`, "the password prompt")
	typeLine("raspberry")
	p.waitFor(screen+`.includes("pi@node2:~$")`, "the shell prompt")
	assert.NotContains(t, p.text("#terminal .xterm-rows"), "raspberry", "the password is not echoed")
	typeLine("echo from-the-browser")
	p.waitFor(screen+`.split("\n").some(l => l.trim() === "from-the-browser")`, "the command's answer")

	// The extra key row: Ctrl-C reaches the node's shell.
	p.click(`.keys button[aria-label="Control C"]`)
	p.waitFor(screen+`.includes("^C")`, "the shell's ^C")

	// Read only: bmcd is asked for a read-only session.
	p.click("#readonly")
	p.waitFor(`document.querySelector("#console-status").innerText.includes("read only")`, "the read-only session")
}
