package simssh

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// hangUntilKilled is a command that never returns on its own, like an
// install script stuck on a download that never finishes: it ends only
// when its process group (the session's shell, pid) is killed or the node
// goes down (its server closes). Its status is the shell's when SIGKILL
// ends it.
func (s *Server) hangUntilKilled(pid int, what string) uint32 {
	killed := make(chan struct{})
	s.procMu.Lock()
	s.procs[pid] = killed
	s.procMu.Unlock()
	defer func() {
		s.procMu.Lock()
		delete(s.procs, pid)
		s.procMu.Unlock()
	}()
	s.log.Info("simssh: command hangs (fault)", "node", s.node.Hostname, "pid", pid, "cmd", what)
	select {
	case <-killed:
	case <-s.done:
	}
	return 128 + 9
}

// kill answers `kill [-KILL|-9|-s KILL] [--] [-]PID…`, the command bmcd
// uses to end a cancelled command's process group. Only the simulated
// node's hanging commands are processes that outlive their command
// line; a negative PID names a group, which is its shell's PID here.
func (s *Server) kill(args []string, errw io.Writer) uint32 {
	var targets []string
	opts := true
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case opts && a == "--":
			opts = false
		case opts && (a == "-KILL" || a == "-9" || a == "-TERM" || a == "-15"):
		case opts && a == "-s" && i+1 < len(args):
			i++
		default:
			targets = append(targets, a)
		}
	}
	if len(targets) == 0 {
		fmt.Fprintln(errw, "kill: usage: kill [-s sigspec | -signum] pid | -pgid ...")
		return 2
	}
	var status uint32
	for _, t := range targets {
		pid, err := strconv.Atoi(strings.TrimPrefix(t, "-"))
		if err != nil {
			fmt.Fprintf(errw, "sh: 1: kill: Illegal number: %s\n", t)
			status = 2
			continue
		}
		s.procMu.Lock()
		ch, ok := s.procs[pid]
		if ok {
			delete(s.procs, pid)
			close(ch)
		}
		s.procMu.Unlock()
		if !ok {
			fmt.Fprintf(errw, "sh: 1: kill: No such process\n")
			status = 1
		}
	}
	return status
}
