package main_test

import (
	"strings"

	"github.com/chromedp/chromedp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEndToEndWebBoard: log in on a phone, switch slot 3 on and see its
// card follow the measured power, also when bmcctl switches it; errors
// in words; a reload keeps the session; the page comes back by itself
// when bmcd restarts.
func TestEndToEndWebBoard(t *testing.T) {
	t.Parallel()
	d := startBMCD(t, t.TempDir())
	require.NotEmpty(t, d.password)
	home := t.TempDir()
	r := bmcctl(t, d, home, d.password+"\n", "login", "--password-stdin")
	require.Equal(t, 0, r.code, r.stderr)

	p := openPage(t, d, phone)
	p.open("")
	p.waitFor(`location.hash === "#/login"`, "the login page without a session")
	p.screenshot("login")

	// A wrong password says so, in words.
	p.login("not-the-password")
	p.waitFor(`document.querySelector("#login-msg")?.innerText.length > 0`, "the login error")
	assert.Equal(t, "Wrong user name or password.", p.text("#login-msg"))

	p.login(d.password)
	p.waitFor(`document.querySelectorAll("#slots .card").length === 4`, "four slot cards")
	p.waitFor(`document.querySelector("#live")?.classList.contains("ok")`, "the live event stream")
	assert.Equal(t, "off", p.cardPower(3))
	p.screenshot("board")

	// On: the card changes because bmcd measured the slot on.
	p.click(`#slot-3 [data-action="on"]`)
	p.waitCard(3, "on")
	r = bmcctl(t, d, home, "", "-o", "json", "power", "status", "3")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"power": "on"`)

	// Another client switches it off: the event stream tells the page.
	r = bmcctl(t, d, home, "", "power", "off", "3")
	require.Equal(t, 0, r.code, r.stderr)
	p.waitCard(3, "off")

	// A reset of a slot that is off is refused (409): said on the card.
	p.click(`#slot-3 [data-action="reset"]`)
	p.confirm()
	p.waitFor(`!!document.querySelector("#slot-3 .alert")`, "the error on slot 3's card")
	assert.Equal(t, "reset slot 3: the slot is off", p.text("#slot-3 .alert"))

	// Off asks first; Cancel changes nothing.
	r = bmcctl(t, d, home, "", "power", "on", "1")
	require.Equal(t, 0, r.code, r.stderr)
	p.waitCard(1, "on")
	p.click(`#slot-1 [data-action="off"]`)
	p.waitFor(`document.querySelector("#confirm").open`, "the confirmation")
	p.click(`#confirm button[value="cancel"]`)
	p.waitFor(`!document.querySelector("#confirm").open`, "the dialog to close")
	assert.Equal(t, "on", p.cardPower(1))
	p.click(`#slot-1 [data-action="off"]`)
	p.confirm()
	p.waitCard(1, "off")

	// A reload keeps the session.
	p.open("#/board")
	p.do(chromedp.Reload())
	p.waitFor(`document.querySelectorAll("#slots .card").length === 4`, "the board after a reload")
	assert.Equal(t, "#/board", eval[string](p, "location.hash"))

	// The settings, cluster and desktop views, for the screenshots and
	// because each must load.
	p.open("#/settings")
	p.waitFor(`!!document.querySelector("#board-info")`, "the board info")
	assert.Contains(t, p.text("#board-info"), "Simulated board (4 slots)")
	p.screenshot("settings")
	p.open("#/cluster")
	p.waitFor(`document.querySelector("#cluster")?.innerText.includes("No cluster yet")`, "the cluster page")
	p.screenshot("cluster")

	wide := openPage(t, d, desktop)
	wide.open("")
	wide.login(d.password)
	wide.waitFor(`document.querySelectorAll("#slots .card").length === 4`, "four cards on a desktop")
	assert.Greater(t, eval[int](wide, `new Set([...document.querySelectorAll("#slots .card")].map(c => c.getBoundingClientRect().top)).size < 4 ? 1 : 0`), 0,
		"cards side by side on a desktop")

	// bmcd restarts: the page reconnects by itself and follows again.
	p.open("#/board")
	p.waitFor(`document.querySelectorAll("#slots .card").length === 4`, "the board")
	p.waitFor(`document.querySelector("#live")?.classList.contains("ok")`, "the live stream")
	d.stop(t)
	p.waitFor(`!document.querySelector("#live")?.classList.contains("ok")`, "the page to notice bmcd is gone")
	d2 := startBMCD(t, d.stateDir, "--listen", strings.TrimPrefix(d.url, "http://"))
	p.waitFor(`document.querySelector("#live")?.classList.contains("ok")`, "the stream to come back")
	r = bmcctl(t, d2, home, "", "power", "on", "3")
	require.Equal(t, 0, r.code, r.stderr)
	p.waitCard(3, "on")

	// A session bmcd no longer knows (expired, revoked) sends the page
	// back to the login, saying why.
	eval[chromedp.Void](p, `localStorage.setItem("bmcd.token", "not-a-token")`)
	p.open("#/settings")
	p.waitFor(`location.hash === "#/login" && document.querySelector("#login-msg")?.innerText.includes("session has ended")`, "the login page with the reason")
}
