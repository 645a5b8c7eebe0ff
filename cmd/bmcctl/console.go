package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/client"
)

func newConsole(e *env) *cobra.Command {
	var (
		showLog, readOnly bool
		force             bool
		tail, history     int64
		send, mode        string
		baud              int
		escape            string
	)
	cmd := &cobra.Command{
		Use:   "console SLOT [--history BYTES] [--read-only] [--escape ^X|none] | --log [--tail BYTES] | --send TEXT [--force] | --baud N | --mode SETTINGS",
		Short: "Attach to a slot's serial console, print its log, send it a line or set its baud rate",
		Long: "Attach to the serial console of the module in a slot: the history bmcd kept is\n" +
			"shown first, then live output; keys go to the node as they are typed (Ctrl-C\n" +
			"included). Detach with Ctrl-] then q; Ctrl-] then ? lists the escapes. The node\n" +
			"keeps running after a detach. The terminal is put back as it was on every exit.\n" +
			"Attaching to a slot that is off works: bmcd says so, and output appears when\n" +
			"the slot is switched on.\n" +
			"\n" +
			"When stdin is not a terminal, it is sent as it is, with no escape, and bmcctl\n" +
			"ends shortly after its end; with --read-only it is not read, and output is\n" +
			"followed until bmcd closes the console or bmcctl is interrupted.\n" +
			"\n" +
			"--log prints the history and exits. --send types TEXT and Enter (a carriage\n" +
			"return) on the console and exits; a slot that is off is refused (the line\n" +
			"would be lost) unless --force is given. --baud and --mode change the line\n" +
			"settings of the slot's UART (for every session) and print them, then exit;\n" +
			"with --send they are applied before the line is sent.",
		Example: "  bmcctl console 3\n" +
			"  bmcctl console 3 --history 0 --read-only\n" +
			"  bmcctl console 3 --log --tail 4096 > boot.log\n" +
			"  bmcctl console 3 --send 'root'\n" +
			"  bmcctl console 2 --baud 1500000\n" +
			"  bmcctl console 2 --mode '115200 8N1'",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("console: want one SLOT argument, got %d arguments", len(args))
			}
			return nil
		},
		ValidArgsFunction: e.completeSlots(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			slot, err := strconv.Atoi(args[0])
			if err != nil {
				return usagef("invalid slot %q: want a number", args[0])
			}
			flags := cmd.Flags()
			if err := consoleFlagsAgree(flags.Changed); err != nil {
				return err
			}
			var m apitype.ConsoleMode
			if flags.Changed("mode") {
				if m, err = parseConsoleMode(mode); err != nil {
					return err
				}
			}
			if flags.Changed("baud") {
				if baud <= 0 {
					return usagef("invalid --baud %d: want a positive bit rate, e.g. 115200", baud)
				}
				if m.Baud != 0 && m.Baud != baud {
					return usagef("console: --baud %d and --mode %q disagree", baud, mode)
				}
				m.Baud = baud
			}
			ctx := cmd.Context()
			switch {
			case showLog:
				if tail < 0 {
					return usagef("invalid --tail %d: want a number of bytes, or 0 for all", tail)
				}
				return e.consoleLog(ctx, slot, tail)
			case flags.Changed("send"):
				return e.consoleSend(ctx, slot, send, m, force)
			case m != (apitype.ConsoleMode{}):
				return e.consoleSetMode(ctx, slot, m)
			}
			if history < -1 {
				return usagef("invalid --history %d: want a number of bytes, 0 for none or -1 for all", history)
			}
			esc, err := parseEscape(escape)
			if err != nil {
				return err
			}
			return e.attach(ctx, slot, client.ConsoleOptions{History: history, ReadOnly: readOnly}, esc)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&history, "history", -1, "bytes of history to show before live output (-1: all bmcd keeps, 0: none)")
	f.BoolVar(&readOnly, "read-only", false, "only watch: keys other than the escape are not sent")
	f.StringVar(&escape, "escape", "^]", "escape character, as ^X (Ctrl-X), or none")
	f.BoolVar(&showLog, "log", false, "print the console history and exit")
	f.Int64Var(&tail, "tail", 0, "with --log: print only the last BYTES (0: all)")
	f.StringVar(&send, "send", "", "type TEXT and Enter on the console, then exit")
	f.BoolVar(&force, "force", false, "with --send: send even when the slot is off")
	f.IntVar(&baud, "baud", 0, "set the bit rate, e.g. 115200 or 1500000 (Rockchip modules)")
	f.StringVar(&mode, "mode", "", "set the line settings, e.g. \"115200 8N1\" or \"8E1\"")
	return cmd
}

// consoleFlagsAgree refuses flags that do not go together: --log,
// --send, --baud/--mode (setting the line) and attaching each have theirs.
func consoleFlagsAgree(changed func(string) bool) error {
	var action string
	var allowed []string
	switch {
	case changed("log"):
		action, allowed = "log", []string{"tail"}
	case changed("send"):
		action, allowed = "send", []string{"baud", "mode", "force"}
	case changed("baud") || changed("mode"):
		action, allowed = "baud", []string{"mode"}
		if !changed("baud") {
			action, allowed = "mode", nil
		}
	default:
		if changed("tail") {
			return usagef("console: --tail goes with --log")
		}
		if changed("force") {
			return usagef("console: --force goes with --send")
		}
		return nil
	}
	for _, name := range []string{"log", "send", "baud", "mode", "tail", "force", "history", "read-only", "escape"} {
		if name == action || !changed(name) || slices.Contains(allowed, name) {
			continue
		}
		switch name {
		case "tail":
			return usagef("console: --tail goes with --log")
		case "force":
			return usagef("console: --force goes with --send")
		}
		return usagef("console: --%s does not go with --%s", name, action)
	}
	return nil
}

// consoleLog writes the history to stdout as it is.
func (e *env) consoleLog(ctx context.Context, slot int, tail int64) error {
	return e.call(ctx, func(ctx context.Context, c *client.Client) error {
		data, err := c.ConsoleLog(ctx, slot, tail)
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(data)
		return err
	})
}

// sendFrame is the largest frame --send writes.
const sendFrame = 4096

// consoleSend types text and Enter: a carriage return, as a serial
// terminal sends for the Enter key. The session asks for no history and
// is closed normally once the line is written, so that bmcd has it all.
// A slot that is off would lose the line: it is refused, unless forced,
// before anything is changed.
func (e *env) consoleSend(ctx context.Context, slot int, text string, m apitype.ConsoleMode, force bool) error {
	return e.call(ctx, func(ctx context.Context, c *client.Client) error {
		if !force {
			s, err := c.Slot(ctx, slot)
			if err != nil {
				return err
			}
			if s.Power == "off" {
				return fmt.Errorf("console: slot %d is off, so the line would be lost: switch it on first ('bmcctl power on %d'), or give --force", slot, slot)
			}
		}
		if m != (apitype.ConsoleMode{}) {
			if _, err := c.SetConsoleMode(ctx, slot, m); err != nil {
				return err
			}
		}
		cc, err := c.DialConsole(ctx, slot, client.ConsoleOptions{History: 0})
		if err != nil {
			return err
		}
		defer cc.Close()
		if !cc.Hello().Writable {
			return fmt.Errorf("console: slot %d: this account may only watch consoles", slot)
		}
		// In frames of a few KiB, as keys are typed: bmcd bounds the
		// size of a frame from a client.
		line := []byte(text + "\r")
		for len(line) > 0 {
			n := min(len(line), sendFrame)
			if err := cc.Write(ctx, line[:n]); err != nil {
				return err
			}
			line = line[n:]
		}
		return cc.Close()
	})
}

// consoleSetMode changes the line settings and prints them.
func (e *env) consoleSetMode(ctx context.Context, slot int, m apitype.ConsoleMode) error {
	return e.call(ctx, func(ctx context.Context, c *client.Client) error {
		s, err := c.SetConsoleMode(ctx, slot, m)
		if err != nil {
			return err
		}
		if e.jsonOutput() {
			return printJSON(e.stdout, s)
		}
		return writeConsoleState(e.stdout, s)
	})
}

// writeConsoleState writes one line: "slot 3 console: /dev/ttyS3, 115200 8N1".
func writeConsoleState(w io.Writer, s apitype.ConsoleState) error {
	line := fmt.Sprintf("slot %d console: %s, %s", s.Slot, dash(s.Device), formatConsoleMode(s.Mode))
	if !s.Open {
		line += ", not open"
		if s.Error != "" {
			line += ": " + s.Error
		}
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

// Line settings as people write them: "115200 8N1".
var (
	frameRE  = regexp.MustCompile(`^([5-8])([NOEMS])(1|1\.5|2)$`)
	parities = map[byte]string{'N': "none", 'O': "odd", 'E': "even", 'M': "mark", 'S': "space"}
)

// parseConsoleMode parses "115200 8N1", "115200", "8N1" or "1500000,8E2".
func parseConsoleMode(s string) (apitype.ConsoleMode, error) {
	var m apitype.ConsoleMode
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	if len(fields) == 0 || len(fields) > 2 {
		return m, usagef("invalid --mode %q: want e.g. \"115200 8N1\"", s)
	}
	for _, f := range fields {
		if n, err := strconv.Atoi(f); err == nil && m.Baud == 0 && n > 0 {
			m.Baud = n
			continue
		}
		sm := frameRE.FindStringSubmatch(strings.ToUpper(f))
		if sm == nil || m.DataBits != 0 {
			return apitype.ConsoleMode{}, usagef("invalid --mode %q: want a bit rate and/or data bits, parity (N, O, E, M or S) and stop bits, e.g. \"115200 8N1\"", s)
		}
		m.DataBits = int(sm[1][0] - '0')
		m.Parity = parities[sm[2][0]]
		m.StopBits = sm[3]
	}
	return m, nil
}

// formatConsoleMode is the inverse of parseConsoleMode: "115200 8N1".
func formatConsoleMode(m apitype.ConsoleMode) string {
	parity := "?"
	for k, v := range parities {
		if v == m.Parity {
			parity = string(k)
		}
	}
	bits := "?"
	if m.DataBits != 0 {
		bits = strconv.Itoa(m.DataBits)
	}
	stop := m.StopBits
	if stop == "" {
		stop = "?"
	}
	baud := "?"
	if m.Baud != 0 {
		baud = strconv.Itoa(m.Baud)
	}
	return baud + " " + bits + parity + stop
}

// escapeKey is the key that starts an escape sequence; 0 for none.
type escapeKey byte

// parseEscape parses --escape: "^]" (Ctrl-]), "^A" ... or "none".
func parseEscape(s string) (escapeKey, error) {
	if strings.EqualFold(s, "none") {
		return 0, nil
	}
	if len(s) == 2 && s[0] == '^' {
		c := s[1]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c >= 'A' && c <= '_' && c != 'M' && c != 'J' && c != 'I' && c != 'H' && c != 'C' {
			return escapeKey(c & 0x1f), nil
		}
	}
	return 0, usagef("invalid --escape %q: want ^X for a control key (not ^C, ^H, ^I, ^J or ^M), or none", s)
}

// String names the key as a person presses it: "Ctrl-]".
func (k escapeKey) String() string { return "Ctrl-" + string(rune(k)|0x40) }
