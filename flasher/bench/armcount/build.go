package main

import (
	"bytes"
	"debug/elf"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

//go:embed plugin/insncount.c
var pluginSource []byte

// buildPlugin compiles the counting plugin into dir with gcc.
func buildPlugin(dir string) (string, error) {
	src := filepath.Join(dir, "insncount.c")
	so := filepath.Join(dir, "insncount.so")
	if err := os.WriteFile(src, pluginSource, 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command("gcc", "-shared", "-fPIC", "-O2", "-nostdlib", "-Wall", "-Wextra", "-Werror", "-o", so, src)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the qemu plugin: %w\n%s", err, out)
	}
	return so, nil
}

// buildGuest builds the Go package pkg for linux/arm, ARMv7, static.
func buildGuest(pkg, out string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm", "GOARM=7", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s for armv7: %w\n%s", pkg, err, b)
	}
	return nil
}

// markers names the guest's marker functions, by the plugin argument
// that takes each one's address.
var markers = map[string]string{
	"start":  "main.regionStart",
	"stop":   "main.regionStop",
	"split":  "main.regionSplit",
	"pause":  "main.countPause",
	"resume": "main.countResume",
	"ignore": "runtime.sysmon",
}

// pluginArgs returns the plugin's arguments for the guest binary: the
// entry address of each marker function it has.
func pluginArgs(binary string) (string, error) {
	f, err := elf.Open(binary)
	if err != nil {
		return "", err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return "", fmt.Errorf("%s: %w", binary, err)
	}
	addr := map[string]uint64{}
	for _, s := range syms {
		addr[s.Name] = s.Value
	}
	var b bytes.Buffer
	for _, arg := range []string{"start", "stop", "split", "pause", "resume", "ignore"} {
		a, ok := addr[markers[arg]]
		if !ok {
			if arg == "start" || arg == "stop" {
				return "", fmt.Errorf("%s has no %s", binary, markers[arg])
			}
			continue
		}
		fmt.Fprintf(&b, ",%s=%#x", arg, a)
	}
	return b.String(), nil
}

// count runs binary with args under qemu-arm with the plugin and returns
// the regions it counted.
func count(plugin, binary string, args ...string) ([]region, error) {
	pargs, err := pluginArgs(binary)
	if err != nil {
		return nil, err
	}
	log, err := os.CreateTemp("", "armcount-*.log")
	if err != nil {
		return nil, err
	}
	log.Close()
	defer os.Remove(log.Name())
	qargs := append([]string{"-plugin", plugin + pargs, "-d", "plugin", "-D", log.Name(), binary}, args...)
	cmd := exec.Command("qemu-arm", qargs...)
	// One P: the goroutines take turns on one thread, so that the counts
	// do not depend on how the host schedules QEMU's threads; no
	// asynchronous preemption signals and no garbage collector, whose
	// work comes with the host's timing (the guest collects before each
	// region).
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "GODEBUG=asyncpreemptoff=1", "GOGC=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("qemu-arm %s: %w\n%s", filepath.Base(binary), err, stderr.Bytes())
	}
	f, err := os.Open(log.Name())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseLog(f)
}
