package hal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// CheckStatus is the outcome of one finding of a board check.
type CheckStatus string

// Check outcomes. Only CheckFail makes a check fail as a whole.
const (
	CheckOK   CheckStatus = "ok"
	CheckWarn CheckStatus = "warn"
	CheckFail CheckStatus = "fail"
	CheckSkip CheckStatus = "skip"
)

// Finding is one thing a board check looked at and what it found.
type Finding struct {
	// Name says what was looked at: "node1-en", "DS4520 0x57 on I2C 1".
	Name   string
	Status CheckStatus
	// Detail is what was found, in words a board owner can send back.
	Detail string
}

// Prober is a board that can report what its hardware looks like without
// changing it: it reads lines, registers and supplies and writes none.
type Prober interface {
	Probe(ctx context.Context) []Finding
}

// Failed reports whether any finding failed.
func Failed(fs []Finding) bool {
	for _, f := range fs {
		if f.Status == CheckFail {
			return true
		}
	}
	return false
}

// Device-tree files the profile is detected from, relative to the root
// of the file system (the kernel's /proc/device-tree).
const (
	dtModel      = "proc/device-tree/model"
	dtCompatible = "proc/device-tree/compatible"
)

// DetectProfile picks the board profile from the running kernel's device
// tree in root (the file system's root, os.DirFS("/") on the board), as
// the vendor's device trees name the boards: model "Turing Pi 2 (v2.4)",
// "Turing Pi 2 (v2.5)" or "Turing Pi 2 (v2.5.1)" with compatible
// "turing,pi2" (BMC-Firmware sun8i-t113s-turing-pi2-v2.*.dts). A
// Raspberry Pi compute module is taken for a Turing Pi 1 node, which only
// the DS4520 answering on the Cluster Management Bus can confirm. The
// profile is "" when the tree names no board bmcd knows; why says what
// was read either way.
func DetectProfile(root fs.FS) (profile, why string) {
	model, merr := fs.ReadFile(root, dtModel)
	compat, cerr := fs.ReadFile(root, dtCompatible)
	if merr != nil && cerr != nil {
		if errors.Is(merr, fs.ErrNotExist) {
			return "", "no device tree (/" + dtModel + " missing): not an embedded board"
		}
		return "", fmt.Sprintf("device tree unreadable: %v", merr)
	}
	m := string(bytes.TrimRight(model, "\x00\n"))
	compats := strings.Split(string(bytes.TrimRight(compat, "\x00")), "\x00")
	said := fmt.Sprintf("device tree model %q, compatible %q", m, strings.Join(compats, ", "))
	switch {
	case strings.HasPrefix(m, "Turing Pi 2 (v2.4"):
		return "tp2-v2.4", said
	case strings.HasPrefix(m, "Turing Pi 2 (v2.5"):
		return "tp2-v2.5", said
	case strings.HasPrefix(m, "Raspberry Pi Compute Module"):
		return "tp1", said + ": a compute module, taken for a Turing Pi 1 node"
	}
	for _, c := range compats {
		if c == "turing,pi2" || c == "turingmachines,tp2bmc" {
			return "", said + ": a Turing Pi 2 of a revision bmcd does not know"
		}
	}
	return "", said + ": not a Turing Pi"
}

// ProfileFinding compares the configured profile with the one the device
// tree names (DetectProfile) and says why.
func ProfileFinding(configured string, root fs.FS) Finding {
	detected, why := DetectProfile(root)
	f := Finding{Name: "board profile", Status: CheckOK}
	switch {
	case configured == "sim":
		f.Detail = "sim (configured): simulated board; this machine: " + why
		if detected != "" {
			f.Status, f.Detail = CheckWarn, f.Detail+"; set board: "+detected+" to drive the real board"
		}
	case detected == configured:
		f.Detail = configured + " (configured and detected): " + why
	case detected == "":
		f.Status, f.Detail = CheckWarn, configured+" (configured), not confirmed: "+why
	default:
		f.Status, f.Detail = CheckFail, fmt.Sprintf("%s configured but the board is %s: %s; set board: %s", configured, detected, why, detected)
	}
	return f
}
