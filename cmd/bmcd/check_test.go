package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/hal"
)

func TestCheckArgs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		active  int
		json    bool
		rest    []string
		wantErr string
	}{
		{name: "none", args: []string{"--board", "sim"}, rest: []string{"--board", "sim"}},
		{name: "active", args: []string{"--active", "2", "--board", "sim"}, active: 2, rest: []string{"--board", "sim"}},
		{name: "active=", args: []string{"--board=sim", "--active=3", "--json"}, active: 3, json: true, rest: []string{"--board=sim"}},
		{name: "no slot", args: []string{"--active"}, wantErr: "want a slot number"},
		{name: "bad slot", args: []string{"--active", "x"}, wantErr: `--active "x"`},
		{name: "zero", args: []string{"--active=0"}, wantErr: `--active "0"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			active, js, rest, err := checkArgs(tc.args)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.active, active)
			assert.Equal(t, tc.json, js)
			assert.Equal(t, tc.rest, rest)
		})
	}
}

// simArgs are the flags of a fast simulated board in dir.
func simArgs(dir string) []string {
	return []string{"--board", "sim", "--state-dir", dir, "--sim-usb-timing", "fast", "--log-level", "error"}
}

func runCheckJSON(t *testing.T, args ...string) (apitype.CheckReport, error) {
	t.Helper()
	var out bytes.Buffer
	err := runCheck(context.Background(), append(args, "--json"), &out, io.Discard)
	var rep apitype.CheckReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), "output: %s; runCheck: %v", out.String(), err)
	return rep, err
}

func findingsByName(rep apitype.CheckReport) map[string]apitype.CheckFinding {
	m := map[string]apitype.CheckFinding{}
	for _, f := range rep.Findings {
		m[f.Name] = f
	}
	return m
}

func TestRunCheckSim(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rep, err := runCheckJSON(t, simArgs(dir)...)
	require.NoError(t, err)
	assert.False(t, rep.Failed, "%+v", rep)
	m := findingsByName(rep)
	assert.Equal(t, "ok", m["board profile"].Status)
	assert.Equal(t, "ok", m["rpiboot firmware for the CM4"].Status)
	assert.Contains(t, m["slot 1 console "+simConsoleOf(t, rep, 1)].Detail, "character device")
	assert.NotContains(t, m, "slot 2 power on/off", "no slot switched without --active")

	rep, err = runCheckJSON(t, append(simArgs(dir), "--active", "2")...)
	require.NoError(t, err)
	assert.False(t, rep.Failed, "%+v", rep)
	m = findingsByName(rep)
	assert.Equal(t, "ok", m["slot 2 power on/off"].Status)
	assert.Contains(t, m["slot 2 usb boot"].Detail, "CM4 boot ROM enumerated")

	// The slot was put back: the next read-only check finds it off.
	rep, err = runCheckJSON(t, simArgs(dir)...)
	require.NoError(t, err)
	assert.Equal(t, "power off, usb boot strap released, module installed", findingsByName(rep)["slot 2"].Detail)

	var text bytes.Buffer
	require.NoError(t, runCheck(context.Background(), simArgs(dir), &text, io.Discard))
	assert.Contains(t, text.String(), "check: ")
}

// simConsoleOf finds the pseudo-terminal of a slot's console in a report.
func simConsoleOf(t *testing.T, rep apitype.CheckReport, slot int) string {
	t.Helper()
	prefix := "slot 1 console "
	for _, f := range rep.Findings {
		if len(f.Name) > len(prefix) && f.Name[:len(prefix)] == prefix {
			return f.Name[len(prefix):]
		}
	}
	t.Fatalf("no console of slot %d in %+v", slot, rep)
	return ""
}

func TestRunCheckRefusesBesideABmcd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	unlock, err := lockStateDir(dir) // as a running bmcd holds it
	require.NoError(t, err)
	var out bytes.Buffer
	err = runCheck(context.Background(), append(simArgs(dir), "--active", "1"), &out, io.Discard)
	require.ErrorIs(t, err, errLocked)
	assert.Contains(t, err.Error(), "bmcctl board check")
	assert.Empty(t, out.String())
	_, statErr := os.Stat(filepath.Join(dir, "sim-hardware.json"))
	assert.ErrorIs(t, statErr, os.ErrNotExist, "the simulated board was opened")

	require.NoError(t, unlock())
	require.NoError(t, runCheck(context.Background(), simArgs(dir), io.Discard, io.Discard), "the lock is free again")
}

func TestFirmwareMissingOnATuringPi2(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig([]string{"--board", "tp2-v2.4", "--state-dir", t.TempDir()}, io.Discard)
	require.NoError(t, err)
	cfg.Flash.FirmwareDir = t.TempDir() // empty
	hw := &hardware{flash: hardwareFlash(cfg, nil, slog.New(slog.DiscardHandler))}

	ws := firmwareWarnings(cfg, hw)
	require.Len(t, ws, 1)
	assert.Contains(t, ws[0], cfg.Flash.FirmwareDir)
	assert.Contains(t, ws[0], "boot.img")
	assert.Contains(t, ws[0], "/mnt/sdcard/rpiboot")

	root := fstest.MapFS{"proc/device-tree/model": {Data: []byte("Turing Pi 2 (v2.4)\x00")}}
	c := newChecker(cfg, hw, nil, root)
	assert.Equal(t, hal.CheckOK, c.Profile.Status, c.Profile.Detail)
	fs, err := c.Run(context.Background(), 0)
	require.NoError(t, err)
	var fw hal.Finding
	for _, f := range fs {
		if f.Name == "rpiboot firmware for the CM4" {
			fw = f
		}
	}
	assert.Equal(t, hal.CheckFail, fw.Status, fw.Detail)
	assert.True(t, hal.Failed(fs))

	cfg.Board = "tp1"
	assert.Empty(t, firmwareWarnings(cfg, hw), "a Turing Pi 1 does not flash")
}

// A board that cannot be opened is a failed finding in a full report,
// not the end of the check.
func TestRunCheckBoardNotThere(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "bmcd.yaml")
	require.NoError(t, os.WriteFile(conf, []byte("tp1:\n  i2c_bus: bmcd-test-no-such-bus\n"), 0o600))
	rep, err := runCheckJSON(t, "--config", conf, "--board", "tp1", "--state-dir", dir)
	require.ErrorIs(t, err, errCheckFailed)
	m := findingsByName(rep)
	assert.Equal(t, "fail", m["DS4520 on I2C bmcd-test-no-such-bus"].Status)
	assert.Contains(t, m["DS4520 on I2C bmcd-test-no-such-bus"].Detail, "dtoverlay=i2c1")
	assert.Equal(t, "ok", m["state dir "+dir].Status)
	assert.NotContains(t, m, "rpiboot firmware for the CM4", "a Turing Pi 1 does not flash")
}

// One bmcd per state dir: a second one does not start, and touches
// nothing of the first one's board.
func TestSecondDaemonRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	unlock, err := lockStateDir(dir)
	require.NoError(t, err)
	defer unlock()
	err = run(context.Background(), []string{"--board", "sim", "--state-dir", dir, "--listen", "127.0.0.1:0"}, io.Discard)
	require.ErrorIs(t, err, errLocked)
	_, statErr := os.Stat(filepath.Join(dir, "auth.json"))
	assert.ErrorIs(t, statErr, os.ErrNotExist)
}
