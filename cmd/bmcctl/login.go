package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newLogin(e *env) *cobra.Command {
	var user string
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to bmcd and cache the token",
		Long: "Log in to bmcd and cache the token in the user's config directory (mode 0600).\n" +
			"The password is read from BMC_PASSWORD, from stdin with --password-stdin, or\n" +
			"asked for on the terminal without echo.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.newClient()
			if err != nil {
				return err
			}
			password, err := e.password(fromStdin)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), e.timeout)
			defer cancel()
			lr, err := c.Login(ctx, user, password)
			if err != nil {
				return fmt.Errorf("login to %s: %w", c.BaseURL, err)
			}
			if err := saveToken(c.BaseURL, cachedToken{Token: lr.Token, ExpiresAt: lr.ExpiresAt}); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Logged in to %s; token valid until %s\n", c.BaseURL, lr.ExpiresAt.Local().Format("2006-01-02 15:04 MST"))
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "admin", "user name")
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin")
	return cmd
}

func (e *env) password(fromStdin bool) (string, error) {
	if p := os.Getenv("BMC_PASSWORD"); p != "" && !fromStdin {
		return p, nil
	}
	if !fromStdin && e.stdin != nil && term.IsTerminal(int(e.stdin.Fd())) {
		fmt.Fprint(e.stderr, "Password: ")
		p, err := term.ReadPassword(int(e.stdin.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(p), nil
	}
	if e.stdin == nil {
		return "", errors.New("no password: set BMC_PASSWORD or use --password-stdin")
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no password on stdin")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func newLogout(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the cached token for --host",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			base, err := normalizeHost(e.host)
			if err != nil {
				return err
			}
			return deleteToken(base)
		},
	}
}
