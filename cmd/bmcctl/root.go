package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/client"
)

// Defaults of the global flags.
const (
	defaultHost    = "http://127.0.0.1:8080"
	defaultTimeout = 2 * time.Minute // longer than bmcd waits for a busy slot (30 s), so its "busy" answer arrives
)

// env is what the commands share: their input and output, and the global
// flags. Tests give it buffers.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// loc is the time zone times are shown in.
	loc *time.Location

	host    string
	output  string
	timeout time.Duration
}

// run executes one bmcctl command line and returns the exit status. An
// error is printed as one line, "bmcctl: ...", on stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(&env{stdin: stdin, stdout: stdout, stderr: stderr, loc: time.Local})
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "bmcctl:", oneLine(message(ctx, err)))
	}
	return exitCode(ctx, err)
}

// oneLine keeps the first line of a message.
func oneLine(s string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return first
}

// newRoot builds the command tree.
func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "bmcctl",
		Short: "Manage a Turing Pi board through bmcd",
		Long: "bmcctl manages a Turing Pi board through bmcd's REST API: slot power, slot\n" +
			"settings, OS images and live events. Log in once with 'bmcctl login'; the\n" +
			"token is cached per host.",
		Example: "  bmcctl --host turingpi.local login\n  bmcctl power on 3\n  bmcctl -o json slots",
		// Errors are printed by run, as one line.
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if e.output != "table" && e.output != "json" {
				return usagef("invalid --output %q: want table or json", e.output)
			}
			if e.timeout < 0 {
				return usagef("invalid --timeout %s: want a positive duration, or 0 for none", e.timeout)
			}
			return nil
		},
	}
	host := os.Getenv("BMC_HOST")
	if host == "" {
		host = defaultHost
	}
	pf := root.PersistentFlags()
	pf.StringVar(&e.host, "host", host, "bmcd address: host, host:port or http(s)://host:port (env BMC_HOST)")
	pf.StringVarP(&e.output, "output", "o", "table", "output format: table or json")
	pf.DurationVar(&e.timeout, "timeout", defaultTimeout, "how long to wait for each answer from bmcd (0: no limit)")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.AddCommand(
		newLogin(e), newLogout(e), newBoard(e), newSlots(e), newSlotCmd(e),
		newPower(e), newFlash(e), newNode(e), newJobs(e), newEvents(e), newConsole(e), newCluster(e), newVersion(e),
	)
	root.InitDefaultCompletionCmd()
	finishTree(root)
	return root
}

// finishTree makes every argument mistake a usage error (exit status 2)
// with a one-line message: positional-argument checks, and an unknown
// subcommand, which cobra would otherwise answer with help and status 0.
// It also keeps "[flags]" off usage lines that list their flags.
func finishTree(cmd *cobra.Command) {
	cmd.SuggestionsMinimumDistance = 2
	if strings.Contains(cmd.Use, "--") {
		cmd.DisableFlagsInUseLine = true
	}
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownCommand(cmd, args[0])
		}
		cmd.Args = cobra.ArbitraryArgs
	}
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				if errors.As(err, new(usageError)) {
					return err
				}
				return usagef("%s: %w", subPath(c), err)
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		finishTree(sub)
	}
}

// unknownCommand is the usage error for an unknown subcommand name of
// cmd: for bmcctl itself with a suggestion, for a group with its list.
func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if cmd.HasParent() {
		var names []string
		for _, sub := range cmd.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, sub.Name())
			}
		}
		return usagef("%s: want %s", msg, orList(names))
	}
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		return usagef("%s; did you mean %q?", msg, s[0])
	}
	return usagef("%s; run '%s --help'", msg, cmd.CommandPath())
}

// orList is "a", "a or b", "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// subPath is the command's path without "bmcctl", e.g. "power on".
func subPath(c *cobra.Command) string {
	if !c.HasParent() {
		return c.Name()
	}
	return strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
}

// newClient returns a client for --host with the cached token, if any,
// and for an https:// host the certificate pinned at login.
func (e *env) newClient() (*client.Client, error) {
	base, err := normalizeHost(e.host)
	if err != nil {
		return nil, err
	}
	hc, err := pinnedHTTPClient(base)
	if err != nil {
		return nil, err
	}
	return e.clientWith(base, hc)
}

// clientWith returns a client for base that sends requests with hc.
func (e *env) clientWith(base string, hc *http.Client) (*client.Client, error) {
	tok, err := loadToken(base)
	if err != nil {
		return nil, err
	}
	return client.New(base,
		client.WithToken(tok),
		client.WithHTTPClient(hc),
		client.WithUserAgent("bmcctl/"+version),
	), nil
}

// pinnedHTTPClient is the HTTP client for base: for https://, one that
// accepts only the certificate pinned at login.
func pinnedHTTPClient(base string) (*http.Client, error) {
	if !strings.HasPrefix(base, "https://") {
		return client.PlainHTTPClient(), nil
	}
	entry, ok, err := lookupPin(base)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("bmcctl has not pinned the certificate of %s yet: run 'bmcctl --host %s login' to check its fingerprint and pin it", base, base)
	}
	pin, err := entry.pin(base)
	if err != nil {
		return nil, err
	}
	return pin.HTTPClient(), nil
}

// call runs one request-answer exchange with bmcd, within --timeout.
func (e *env) call(ctx context.Context, fn func(context.Context, *client.Client) error) error {
	c, err := e.newClient()
	if err != nil {
		return err
	}
	if e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
		defer cancel()
	}
	return e.explain(c, fn(ctx, c))
}

// stream is call for exchanges that last as long as they need (the event
// stream, an upload): --timeout does not apply.
func (e *env) stream(ctx context.Context, fn func(context.Context, *client.Client) error) error {
	c, err := e.newClient()
	if err != nil {
		return err
	}
	return e.explain(c, fn(ctx, c))
}

// jsonOutput reports whether -o json was given.
func (e *env) jsonOutput() bool { return e.output == "json" }
