package simconsole

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// match says how much of a session's answer a test checks.
type match int

const (
	matchAll match = iota
	matchStart
	matchEnd
)

func TestSession(t *testing.T) {
	const motdEnd = "only a few commands work.\r\npi@node1:~$ "
	tests := []struct {
		name      string
		phase     phase
		user      string
		in        string
		want      string // the whole answer, or its start or its end
		match     match
		wantPhase phase
	}{
		{name: "off discards", phase: phaseOff, in: "pi\r", wantPhase: phaseOff},
		{name: "booting discards", phase: phaseBooting, in: "pi\r", wantPhase: phaseBooting},
		{name: "empty login name asks again", phase: phaseLogin, in: "\r", want: "\r\nnode1 login: ", wantPhase: phaseLogin},
		{name: "login name", phase: phaseLogin, in: "pi\r", want: "pi\r\nPassword: ", wantPhase: phasePassword},
		{name: "LF ends a line", phase: phaseLogin, in: "pi\n", want: "pi\r\nPassword: ", wantPhase: phasePassword},
		{name: "CR LF ends one line", phase: phaseLogin, in: "pi\r\n", want: "pi\r\nPassword: ", wantPhase: phasePassword},
		{name: "CR CR ends two lines", phase: phaseLogin, in: "\r\r", want: "\r\nnode1 login: \r\nnode1 login: ", wantPhase: phaseLogin},
		{name: "backspace and delete erase", phase: phaseLogin, in: "pix\x7fy\b\r", want: "pix\b \by\b \b\r\nPassword: ", wantPhase: phasePassword},
		{name: "backspace on empty line", phase: phaseLogin, in: "\x7f", want: "", wantPhase: phaseLogin},
		{name: "control bytes and 8-bit bytes are ignored", phase: phaseLogin, in: "\x1b[A\x00\xff\t", want: "[A", wantPhase: phaseLogin},
		{name: "ctrl-c at login", phase: phaseLogin, in: "pi\x03", want: "pi^C\r\nnode1 login: ", wantPhase: phaseLogin},
		{name: "password is not echoed", phase: phasePassword, user: "pi", in: "secret\x7f\r", want: "\r\nLinux node1 ", match: matchStart, wantPhase: phaseShell},
		{name: "password then prompt", phase: phasePassword, user: "pi", in: "\r", want: motdEnd, match: matchEnd, wantPhase: phaseShell},
		{name: "ctrl-c at password", phase: phasePassword, user: "pi", in: "se\x03", want: "^C\r\nnode1 login: ", wantPhase: phaseLogin},
		{name: "empty command", phase: phaseShell, user: "pi", in: "  \r", want: "  \r\npi@node1:~$ ", wantPhase: phaseShell},
		{name: "echo", phase: phaseShell, user: "pi", in: "echo  hello   world\r", want: "echo  hello   world\r\nhello world\r\npi@node1:~$ ", wantPhase: phaseShell},
		{name: "hostname", phase: phaseShell, user: "pi", in: "hostname\r", want: "hostname\r\nnode1\r\npi@node1:~$ ", wantPhase: phaseShell},
		{name: "whoami", phase: phaseShell, user: "pi", in: "whoami\r", want: "whoami\r\npi\r\npi@node1:~$ ", wantPhase: phaseShell},
		{name: "uname", phase: phaseShell, user: "pi", in: "uname\r", want: "uname\r\nLinux\r\npi@node1:~$ ", wantPhase: phaseShell},
		{name: "uname -a", phase: phaseShell, user: "pi", in: "uname -a\r", want: "uname -a\r\nLinux node1 6.6.31-v8+ #1762 SMP PREEMPT Mon May 20 11:00:00 BST 2024 aarch64 GNU/Linux\r\npi@node1:~$ ", wantPhase: phaseShell},
		{name: "uname -r", phase: phaseShell, user: "pi", in: "uname -r\r", want: "uname -r\r\n6.6.31-v8+\r\npi@node1:~$ ", wantPhase: phaseShell},
		{name: "unknown command", phase: phaseShell, user: "pi", in: "ls -l\r", want: "ls -l\r\n-bash: ls: command not found\r\npi@node1:~$ ", wantPhase: phaseShell},
		{name: "ctrl-c in shell", phase: phaseShell, user: "pi", in: "ls\x03", want: "ls^C\r\npi@node1:~$ ", wantPhase: phaseShell},
		{name: "exit", phase: phaseShell, user: "pi", in: "exit\r", want: "exit\r\nlogout\r\n\r\nDebian GNU/Linux 12 node1 ttyS0\r\n\r\nnode1 login: ", wantPhase: phaseLogin},
		{name: "logout", phase: phaseShell, user: "pi", in: "logout\r", want: "logout\r\n\r\nDebian GNU/Linux 12 node1 ttyS0\r\n\r\nnode1 login: ", wantPhase: phaseLogin},
		{name: "ctrl-d on empty line", phase: phaseShell, user: "pi", in: "\x04", want: "logout\r\n\r\nDebian GNU/Linux 12 node1 ttyS0\r\n\r\nnode1 login: ", wantPhase: phaseLogin},
		{name: "ctrl-d after text is ignored", phase: phaseShell, user: "pi", in: "a\x04", want: "a", wantPhase: phaseShell},
		{name: "long line is cut", phase: phaseShell, user: "pi", in: strings.Repeat("x", 2*maxLine) + "\r", want: "\r\n-bash: " + strings.Repeat("x", maxLine) + ": command not found\r\npi@node1:~$ ", match: matchEnd, wantPhase: phaseShell},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := session{host: "node1", phase: tt.phase, user: tt.user}
			got := string(s.feed([]byte(tt.in), nil))
			switch tt.match {
			case matchEnd:
				assert.True(t, strings.HasSuffix(got, tt.want), "feed(%q) = %q, want it to end with %q", tt.in, got, tt.want)
			case matchStart:
				assert.True(t, strings.HasPrefix(got, tt.want), "feed(%q) = %q, want it to start with %q", tt.in, got, tt.want)
			default:
				assert.Equal(t, tt.want, got, "feed(%q)", tt.in)
			}
			assert.Equal(t, tt.wantPhase, s.phase, "phase after feed(%q)", tt.in)
		})
	}
}

func TestSessionResetForgetsLogin(t *testing.T) {
	s := session{host: "node1", phase: phaseShell, user: "pi", line: []byte("ec")}
	s.reset(phaseLogin)
	assert.Equal(t, "", s.user)
	assert.Equal(t, "\r\nnode1 login: ", string(s.feed([]byte("\r"), nil)))
}

func TestBootLineRender(t *testing.T) {
	tests := []struct {
		line    bootLine
		elapsed time.Duration
		want    string
	}{
		{bootLine{kernel: true, text: "Booting"}, 0, "[    0.000000] Booting\r\n"},
		{bootLine{kernel: true, text: "mmc0"}, 2*time.Second + 345678*time.Microsecond + 999, "[    2.345678] mmc0\r\n"},
		{bootLine{kernel: true, text: "late"}, 12345 * time.Second, "[12345.000000] late\r\n"},
		{bootLine{text: "[  OK  ] Started x."}, time.Second, "[  OK  ] Started x.\r\n"},
		{bootLine{raw: true, text: "node1 login: "}, time.Second, "node1 login: "},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, string(tt.line.render(tt.elapsed)))
	}
}

func TestBootLogText(t *testing.T) {
	log := bootLog("cm4-a", "")
	assert.GreaterOrEqual(t, len(log), 12)
	assert.LessOrEqual(t, len(log), 60)
	assert.Equal(t, 0, log[0].pause, "the first line comes at power-on")
	total := 0
	for _, l := range log {
		total += l.pause
		assert.NotContains(t, strings.ReplaceAll(l.text, "\r\n", ""), "\n", "bare line feed in %q", l.text)
	}
	// At the default 40 ms a boot takes a few seconds.
	assert.InDelta(t, 3*time.Second, time.Duration(total)*DefaultLineDelay, float64(2*time.Second))
	assert.Equal(t, "\r\nDebian GNU/Linux 12 cm4-a ttyS0\r\n\r\ncm4-a login: ", log[len(log)-1].text)
}
