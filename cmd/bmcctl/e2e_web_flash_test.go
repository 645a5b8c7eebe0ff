package main_test

import (
	"bytes"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEndToEndWebFlash: a phone picks an .xz image in the file input and
// flashes slot 1; the upload's byte progress and then the job's show,
// the job ends "Flashed", and the eMMC holds exactly the image.
func TestEndToEndWebFlash(t *testing.T) {
	t.Parallel()
	d, _ := flashDaemon(t)
	dir := t.TempDir()
	raw, img := testImage(t, dir, 3<<20+777, 7)
	xz := compress(t, "xz", raw)

	p := openPage(t, d, phone)
	p.open("#/flash/1")
	p.login(d.password)
	p.waitFor(`!!document.querySelector("#flash-form")`, "the flash form")
	p.waitFor(`document.querySelector('input[name="slot"][value="1"]').checked`, "slot 1 preselected")
	// Every progress bar the page shows is recorded, so the test sees
	// the progress however fast the simulated board is.
	eval[chromedp.Void](p, `window.seen = new Set(); new MutationObserver(() => {
		for (const b of document.querySelectorAll("progress")) window.seen.add(b.closest("[id]").id + ":" + (b.max > 0 && b.value >= b.max ? "full" : "part"));
	}).observe(document.body, {subtree: true, childList: true, attributes: true})`)
	p.do(chromedp.SetUploadFiles(chromedp.ID("image-file"), []string{xz}))
	p.screenshot("flash")
	p.click("#flash-go")
	p.waitFor(`!!document.querySelector('#jobs .job[data-state="succeeded"]')`, "the job to succeed")
	assert.Contains(t, p.text("#jobs .job"), "Flashed")
	eval[chromedp.Void](p, `document.querySelector("#jobs-title").scrollIntoView()`)
	p.screenshot("flash-jobs")
	seen := eval[[]string](p, `[...window.seen]`)
	assert.Contains(t, seen, "upload-1:full", "the upload's byte progress reached the whole file: %v", seen)
	disk := emmc(t, d, 1)
	require.GreaterOrEqual(t, len(disk), len(img))
	assert.True(t, bytes.Equal(img, disk[:len(img)]), "the eMMC starts with exactly the image")

	// Two slots at once, from one pick of the file.
	p.click(`input[name="slot"][value="1"]`)
	p.click(`input[name="slot"][value="2"]`)
	p.click(`input[name="slot"][value="3"]`)
	p.click("#flash-go")
	p.waitFor(`document.querySelectorAll('#jobs .job[data-state="succeeded"]').length === 3`, "slots 2 and 3 flashed")
	for _, slot := range []int{2, 3} {
		disk := emmc(t, d, slot)
		require.GreaterOrEqual(t, len(disk), len(img))
		assert.True(t, bytes.Equal(img, disk[:len(img)]), "slot %d's eMMC", slot)
	}

	// A malformed digest is refused before anything is sent.
	p.do(chromedp.SetValue(chromedp.ID("sha256"), "ab"))
	p.click("#flash-go")
	p.waitFor(`!document.querySelector("#flash-form .alert").hidden`, "the form's error")
	assert.Equal(t, "The SHA-256 is 64 hexadecimal digits.", p.text("#flash-form .alert"))
}
