package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// installMain is install.sh's work after the download: the command, the
// env file, the unit, the scripts, then the service started.
func installMain(args []string) int {
	info := func(f string, a ...any) { fmt.Printf("[INFO]  "+f+"\n", a...) }
	fail := func(f string, a ...any) int { fmt.Fprintf(os.Stderr, "[ERROR]  "+f+"\n", a...); return 1 }

	if fault() == "hang-install" {
		block() // as a download or an install step that never ends
	}
	// install.sh: arguments after INSTALL_K3S_EXEC; without a command
	// word, agent when K3S_URL is set, else server.
	execArgs := append(strings.Fields(os.Getenv("INSTALL_K3S_EXEC")), args...)
	cmd := "server"
	if os.Getenv("K3S_URL") != "" {
		cmd = "agent"
	}
	if len(execArgs) > 0 && !strings.HasPrefix(execArgs[0], "-") {
		cmd, execArgs = execArgs[0], execArgs[1:]
	}
	if cmd != "server" && cmd != "agent" {
		return fail("Unknown command %q, expected server or agent", cmd)
	}
	name := "k3s"
	if cmd == "agent" {
		name = "k3s-agent"
	}
	version := os.Getenv("INSTALL_K3S_VERSION")
	if version == "" {
		version = defaultVersion
	}
	bin := filepath.Join(binDir, "k3s")
	if _, err := os.Stat(bin); err != nil {
		return fail("Failed to find %s: %v", bin, err)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fail("%v", err)
	}
	if err := os.WriteFile(versionPath, []byte(version+"\n"), 0o644); err != nil {
		return fail("%v", err)
	}
	if err := os.Symlink("k3s", filepath.Join(binDir, "kubectl")); err == nil {
		info("Creating %s/kubectl symlink to k3s", binDir)
	}

	// The service's environment: the K3S_* variables, as install.sh
	// keeps them (quoted, mode 0600).
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "K3S_") || strings.HasPrefix(kv, "CONTAINERD_") {
			k, v, _ := strings.Cut(kv, "=")
			env = append(env, fmt.Sprintf("%s=%q", k, v))
		}
	}
	sort.Strings(env)
	envFile := filepath.Join(systemdDir, name+".service.env")
	info("env: Creating environment file %s", envFile)
	if err := os.WriteFile(envFile, []byte(strings.Join(env, "\n")+"\n"), 0o600); err != nil {
		return fail("%v", err)
	}
	quoted := []string{bin, cmd}
	for _, a := range execArgs {
		quoted = append(quoted, "'"+a+"'")
	}
	unit := fmt.Sprintf(`[Unit]
Description=Lightweight Kubernetes (stand-in)
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type=notify
EnvironmentFile=-%s
KillMode=process
Delegate=yes
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStart=%s
`, envFile, strings.Join(quoted, " "))
	unitFile := filepath.Join(systemdDir, name+".service")
	info("systemd: Creating service file %s", unitFile)
	if err := os.WriteFile(unitFile, []byte(unit), 0o644); err != nil {
		return fail("%v", err)
	}
	if err := writeScripts(name); err != nil {
		return fail("%v", err)
	}

	sysctl := func(a ...string) error {
		c := exec.Command("systemctl", a...)
		c.Stdout, c.Stderr = os.Stdout, os.Stderr
		return c.Run()
	}
	if err := sysctl("daemon-reload"); err != nil {
		return 1
	}
	if os.Getenv("INSTALL_K3S_SKIP_ENABLE") != "true" {
		info("systemd: Enabling %s unit", name)
		if err := sysctl("enable", name); err != nil {
			return 1
		}
	}
	if os.Getenv("INSTALL_K3S_SKIP_START") == "true" {
		return 0
	}
	info("systemd: Starting %s", name)
	if err := sysctl("restart", name); err != nil {
		return 1
	}
	return 0
}

// writeScripts writes k3s-killall.sh and the role's uninstall script at
// install.sh's paths.
func writeScripts(name string) error {
	killall := `#!/bin/sh
# Stops every k3s service of this node (stand-in).
for s in k3s k3s-agent; do systemctl stop "$s" 2>/dev/null || true; done
`
	// The node's password (/etc/rancher/node) stays, as with k3s: the
	// node can join again under its hostname; a re-flashed one cannot.
	uninstall := fmt.Sprintf(`#!/bin/sh
# Removes the k3s install (stand-in), as install.sh's uninstall script does.
set -x
%[1]s/k3s-killall.sh
systemctl disable %[2]s
rm -f %[3]s/%[2]s.service %[3]s/%[2]s.service.env
rm -rf /etc/rancher/k3s %[4]s /run/k3s
rm -f %[1]s/kubectl %[1]s/k3s-killall.sh
rm -f %[1]s/k3s
rm -f "$0"
`, binDir, name, systemdDir, dataDir)
	script := "k3s-uninstall.sh"
	if name == "k3s-agent" {
		script = "k3s-agent-uninstall.sh"
	}
	if err := os.WriteFile(filepath.Join(binDir, "k3s-killall.sh"), []byte(killall), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(binDir, script), []byte(uninstall), 0o755)
}
