package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/turingpi-oss/bmcd/api/client"
)

func newLogin(e *env) *cobra.Command {
	var user string
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "login [--user admin] [--password-stdin]",
		Short: "Log in to bmcd and cache the token",
		Long: "Log in to bmcd and cache the token for --host in the user's config directory\n" +
			"(bmcctl/tokens.json, mode 0600). The password is read from the first line of\n" +
			"stdin with --password-stdin, else from BMC_PASSWORD, else asked for on the\n" +
			"terminal without echo, else read from the first line of stdin.",
		Example: "  bmcctl login\n  echo \"$PW\" | bmcctl --host turingpi.local login --password-stdin",
		Args:    maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.newClient()
			if err != nil {
				return err
			}
			password, err := e.password(fromStdin)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if e.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, e.timeout)
				defer cancel()
			}
			lr, err := c.Login(ctx, user, password)
			var ae *client.APIError
			if errors.As(err, &ae) {
				return fmt.Errorf("log in to %s: %w", c.BaseURL, err)
			}
			if err != nil {
				return e.explain(c, err)
			}
			if err := saveToken(c.BaseURL, cachedToken{Token: lr.Token, ExpiresAt: lr.ExpiresAt}); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "Logged in to %s; token valid until %s\n", c.BaseURL, lr.ExpiresAt.In(e.loc).Format("2006-01-02 15:04 MST"))
			return err
		},
	}
	cmd.Flags().StringVar(&user, "user", "admin", "user name")
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin")
	return cmd
}

// password gets the login password: from stdin if asked to, else from
// BMC_PASSWORD, else from the terminal without echo, else from stdin.
func (e *env) password(fromStdin bool) (string, error) {
	if p := os.Getenv("BMC_PASSWORD"); p != "" && !fromStdin {
		return p, nil
	}
	if f, ok := e.stdin.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, "Password: ")
		p, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if len(p) == 0 {
			return "", errors.New("no password given")
		}
		return string(p), nil
	}
	return readPasswordLine(e.stdin)
}

// readPasswordLine reads the first line of r, without its line end.
func readPasswordLine(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("no password: use --password-stdin or set BMC_PASSWORD")
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on stdin: pipe it in, or set BMC_PASSWORD")
	}
	return line, nil
}

func newLogout(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the cached token for --host",
		Args:  maxArgs(0),
		RunE: func(*cobra.Command, []string) error {
			base, err := normalizeHost(e.host)
			if err != nil {
				return err
			}
			had, err := hasToken(base)
			if err != nil {
				return err
			}
			if err := deleteToken(base); err != nil {
				return err
			}
			if !had {
				_, err = fmt.Fprintf(e.stdout, "Not logged in to %s\n", base)
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "Logged out of %s\n", base)
			return err
		},
	}
}
