package main_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkReport is the JSON of a board check.
type checkReport struct {
	Findings []struct {
		Name, Status, Detail string
	} `json:"findings"`
	Failed bool `json:"failed"`
}

func (r checkReport) detail(name string) string {
	for _, f := range r.Findings {
		if f.Name == name {
			return f.Status + ": " + f.Detail
		}
	}
	return ""
}

// powerOf is the measured power of each slot, from bmcctl.
func powerOf(t *testing.T, d *daemon, home string) map[int]string {
	t.Helper()
	r := bmcctl(t, d, home, "", "-o", "json", "power", "status", "all")
	require.Equal(t, 0, r.code, r.stderr)
	var slots []struct {
		Slot  int    `json:"slot"`
		Power string `json:"power"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &slots), r.stdout)
	out := map[int]string{}
	for _, s := range slots {
		out[s.Slot] = s.Power
	}
	return out
}

// bmcdCheck runs "bmcd check" on the simulated board in stateDir.
func bmcdCheck(t *testing.T, stateDir string, args ...string) result {
	t.Helper()
	bin, err := binaries()
	require.NoError(t, err)
	cmd := exec.Command(filepath.Join(bin, "bmcd"), append([]string{"check", "--board", "sim", "--state-dir", stateDir, "--sim-usb-timing", "fast"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func TestEndToEndBoardCheck(t *testing.T) {
	t.Parallel()
	d := startBMCD(t, t.TempDir(), "--sim-usb-timing", "fast")
	home := t.TempDir()
	require.Equal(t, 0, bmcctl(t, d, home, d.password+"\n", "login", "--password-stdin").code)
	require.Equal(t, 0, bmcctl(t, d, home, "", "power", "on", "3").code)
	want := map[int]string{1: "off", 2: "off", 3: "on", 4: "off"}

	t.Run("read-only", func(t *testing.T) {
		r := bmcctl(t, d, home, "", "board", "check")
		require.Equal(t, 0, r.code, r.stderr+r.stdout)
		assert.Contains(t, r.stdout, "board profile")
		assert.Contains(t, r.stdout, "rpiboot firmware for the CM4")
		assert.Regexp(t, `(?m)^check: \d+ ok, 0 warn, 0 fail, \d+ skip$`, r.stdout)

		j := bmcctl(t, d, home, "", "-o", "json", "board", "check")
		require.Equal(t, 0, j.code, j.stderr)
		var rep checkReport
		require.NoError(t, json.Unmarshal([]byte(j.stdout), &rep), j.stdout)
		assert.False(t, rep.Failed)
		assert.Contains(t, rep.detail("slot 3"), "power on")
		assert.Equal(t, want, powerOf(t, d, home), "the check switched a slot")
	})

	t.Run("active refuses a running node", func(t *testing.T) {
		r := bmcctl(t, d, home, "", "board", "check", "--active", "3")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stdout, "switch it off first")
		assert.Contains(t, r.stderr, "board check: something failed")
		assert.Equal(t, want, powerOf(t, d, home))
	})

	t.Run("active on an off slot", func(t *testing.T) {
		r := bmcctl(t, d, home, "", "-o", "json", "board", "check", "--active", "2")
		require.Equal(t, 0, r.code, r.stderr+r.stdout)
		var rep checkReport
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
		assert.Equal(t, "ok: switched on (measured on) and off (measured off)", rep.detail("slot 2 power on/off"))
		assert.Contains(t, rep.detail("slot 2 usb boot"), "ok: CM4 boot ROM enumerated")
		assert.Equal(t, want, powerOf(t, d, home), "slot 2 put back off")
	})

	t.Run("bad slots", func(t *testing.T) {
		r := bmcctl(t, d, home, "", "board", "check", "--active", "0")
		assert.Equal(t, 2, r.code, r.stderr)
		r = bmcctl(t, d, home, "", "board", "check", "--active", "9")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "no such slot")
		assert.Empty(t, r.stdout)
	})

	t.Run("bmcd check refuses beside the running bmcd", func(t *testing.T) {
		r := bmcdCheck(t, d.stateDir, "--active", "2")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "a bmcd is running with this state dir")
		assert.Contains(t, r.stderr, "bmcctl board check")
		assert.Empty(t, r.stdout)
		assert.Equal(t, want, powerOf(t, d, home))
	})

	t.Run("bmcd check without the daemon", func(t *testing.T) {
		d.stop(t)
		r := bmcdCheck(t, d.stateDir)
		require.Equal(t, 0, r.code, r.stderr+r.stdout)
		assert.Contains(t, r.stdout, "board profile")
		assert.Regexp(t, `slot 3\s+power on, usb boot strap released`, r.stdout, "the node kept running")
		r = bmcdCheck(t, d.stateDir, "--active", "1", "--json")
		require.Equal(t, 0, r.code, r.stderr+r.stdout)
		var rep checkReport
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
		assert.Contains(t, rep.detail("slot 1 usb boot"), "ok: CM4 boot ROM enumerated")
	})
}
