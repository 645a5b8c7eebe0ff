package simssh

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// k3sScriptURL is the online k3s install script.
const k3sScriptURL = "https://get.k3s.io"

// envAssign is a shell variable assignment before a command (NAME=value).
var envAssign = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// pipeline runs the one pipeline the simulated node knows, the k3s
// install: `curl -sfL https://get.k3s.io | [NAME=value …] sh -s - ARGS`.
// The script never comes from the network: the node's k3s stand-in plays
// it. Without one, or offline, curl fails silently (-s) as on a node offline, and sh
// runs an empty script and exits 0, as the real pipeline does.
func (s *Server) pipeline(line string, pid int, stdout, stderr io.Writer) uint32 {
	parts := strings.Split(line, "|")
	if len(parts) != 2 {
		fmt.Fprintln(stderr, "sh: simulated node: only the k3s install pipeline (curl … | sh -s - …)")
		return 2
	}
	left, err := shellWords(parts[0])
	if err != nil || len(left) < 2 || left[0] != "curl" || left[len(left)-1] != k3sScriptURL {
		fmt.Fprintln(stderr, "sh: simulated node: only the k3s install pipeline (curl … https://get.k3s.io | sh -s - …)")
		return 2
	}
	right, err := shellWords(parts[1])
	if err != nil {
		fmt.Fprintf(stderr, "sh: 1: Syntax error: %v\n", err)
		return 2
	}
	env := map[string]string{}
	for len(right) > 0 && envAssign.MatchString(right[0]) {
		name, value, _ := strings.Cut(right[0], "=")
		env[name] = value
		right = right[1:]
	}
	if len(right) == 0 || right[0] != "sh" {
		fmt.Fprintln(stderr, "sh: simulated node: the install script runs in sh")
		return 2
	}
	args := right[1:]
	if len(args) > 0 && args[0] == "-s" {
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "-" {
		args = args[1:]
	}
	if exec := env["INSTALL_K3S_EXEC"]; exec != "" {
		args = append(strings.Fields(exec), args...)
	}
	if s.hang != nil && s.hang() {
		return s.hangUntilKilled(pid, line)
	}
	if s.k3s == nil || s.offline {
		return 0
	}
	var out, errw bytes.Buffer
	status := s.k3s.install(env, args, "", &out, &errw)
	s.saveK3s()
	_, _ = stdout.Write(out.Bytes())
	_, _ = stderr.Write(errw.Bytes())
	return status
}

// shellWords splits a command at white space, honouring single quotes
// (bmcd quotes values as '…', an embedded quote as '\”).
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			w.WriteByte(c)
		case c == '\'':
			quoted, inWord = true, true
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quoted string")
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
