package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// systemctlMain is the node's service manager for the units the install
// wrote. A service runs detached in its own session, like a systemd
// service outlives the command that started it; its pid is kept in
// runDir once it is ready.
func systemctlMain(args []string) int {
	quiet := false
	var words []string
	for _, a := range args {
		switch {
		case a == "--quiet" || a == "-q":
			quiet = true
		case strings.HasPrefix(a, "-"):
			// --no-block, --now and the like change nothing here.
		default:
			words = append(words, a)
		}
	}
	if len(words) == 0 {
		fmt.Fprintln(os.Stderr, "systemctl: no command")
		return 1
	}
	verb, units := words[0], words[1:]
	for i, u := range units {
		units[i] = strings.TrimSuffix(u, ".service")
	}
	switch verb {
	case "daemon-reload":
		return 0
	case "is-active":
		rc := 3
		for _, u := range units {
			state := "inactive"
			if pid := runningPid(u); pid > 0 {
				state, rc = "active", 0
			}
			if !quiet {
				fmt.Println(state)
			}
		}
		return rc
	case "enable", "disable":
		for _, u := range units {
			wants := filepath.Join(systemdDir, "multi-user.target.wants")
			link := filepath.Join(wants, u+".service")
			if verb == "disable" {
				_ = os.Remove(link)
				continue
			}
			_ = os.MkdirAll(wants, 0o755)
			_ = os.Symlink(filepath.Join(systemdDir, u+".service"), link)
		}
		return 0
	case "stop":
		for _, u := range units {
			stopUnit(u)
		}
		return 0
	case "start", "restart":
		for _, u := range units {
			if verb == "restart" {
				stopUnit(u)
			} else if runningPid(u) > 0 {
				continue
			}
			if rc := startUnit(u); rc != 0 {
				return rc
			}
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "systemctl (stand-in): unsupported command %q\n", verb)
	return 1
}

func pidFile(unit string) string { return filepath.Join(runDir, unit+".pid") }

// runningPid is the unit's live process, or 0.
func runningPid(unit string) int {
	b, err := os.ReadFile(pidFile(unit))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !alive(pid) {
		return 0
	}
	return pid
}

// alive reports a process that exists and has not exited (a zombie has).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}

// stopUnit kills the unit's process and waits until it is gone.
func stopUnit(unit string) {
	pid := runningPid(unit)
	_ = os.Remove(pidFile(unit))
	if pid == 0 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 1000 && alive(pid); i++ {
		time.Sleep(5 * time.Millisecond) // no child of ours: nothing to wait on
	}
}

// unitFile is what the shim reads from a unit: its command and env file.
type unitFile struct {
	exec    []string
	envFile string
}

func readUnit(unit string) (unitFile, error) {
	var u unitFile
	f, err := os.Open(filepath.Join(systemdDir, unit+".service"))
	if err != nil {
		//lint:ignore ST1005 k3s's and systemctl's own words, as a node prints them
		return u, fmt.Errorf("Unit %s.service not found.", unit)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		switch {
		case !ok:
		case k == "ExecStart":
			for _, w := range strings.Fields(v) {
				u.exec = append(u.exec, strings.Trim(w, "'\""))
			}
		case k == "EnvironmentFile":
			u.envFile = v
		}
	}
	if len(u.exec) == 0 {
		return u, fmt.Errorf("unit %s.service has no ExecStart", unit)
	}
	return u, sc.Err()
}

// readEnvFile reads KEY="value" lines; a leading "-" allows it missing.
func readEnvFile(p string) ([]string, error) {
	optional := strings.HasPrefix(p, "-")
	b, err := os.ReadFile(strings.TrimPrefix(p, "-"))
	if errors.Is(err, os.ErrNotExist) && optional {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var env []string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || k == "" || strings.HasPrefix(k, "#") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		env = append(env, k+"="+v)
	}
	return env, nil
}

// startUnit starts a Type=notify unit and waits for READY=1 on the
// descriptor it hands over (as NOTIFY_FD): like systemd with
// TimeoutStartSec=0, it waits as long as that takes, and fails when the
// service exits first.
func startUnit(unit string) int {
	u, err := readUnit(unit)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 5
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NOTIFY_FD=3"}
	if u.envFile != "" {
		fe, err := readEnvFile(u.envFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		env = append(env, fe...)
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	logPath := filepath.Join(runDir, unit+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer logf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c := exec.Command(u.exec[0], u.exec[1:]...)
	c.Env, c.Dir = env, "/"
	c.Stdout, c.Stderr = logf, logf
	c.ExtraFiles = []*os.File{w}
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_ = w.Close()
	msg, _ := bufio.NewReader(r).ReadString('\n')
	if strings.TrimSpace(msg) == "READY=1" {
		if err := os.WriteFile(pidFile(unit), []byte(strconv.Itoa(c.Process.Pid)+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		_ = c.Process.Release()
		return 0
	}
	_ = c.Wait()
	fmt.Fprintf(os.Stderr, "Job for %[1]s.service failed because the control process exited with error code.\n"+
		"See \"systemctl status %[1]s.service\" and \"journalctl -xeu %[1]s.service\" for details.\n", unit)
	if b, err := os.ReadFile(logPath); err == nil {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		fmt.Fprintf(os.Stderr, "%s: %s\n", unit, lines[len(lines)-1])
	}
	return 1
}
