package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/turingpi-oss/bmcd/api/client"
)

func newLogin(e *env) *cobra.Command {
	var user string
	var fromStdin bool
	var trust trustOptions
	cmd := &cobra.Command{
		Use:   "login [--user admin] [--password-stdin] [--fingerprint SHA256:… | --ca FILE | --yes]",
		Short: "Log in to bmcd and cache the token",
		Long: "Log in to bmcd and cache the token for --host in the user's config directory\n" +
			"(bmcctl/tokens.json, mode 0600). The password is read from the first line of\n" +
			"stdin with --password-stdin, else from BMC_PASSWORD, else asked for on the\n" +
			"terminal without echo, else read from the first line of stdin.\n\n" +
			"Over https://, bmcctl pins bmcd's certificate at the first login, as SSH pins\n" +
			"host keys (bmcctl/pins.json): it shows the certificate's SHA-256 fingerprint,\n" +
			"which bmcd prints when it starts, and asks to confirm it on a terminal; or\n" +
			"--fingerprint gives the expected one, --ca a CA file that vouches for the\n" +
			"certificate, --yes accepts what is shown. From then on bmcctl accepts only\n" +
			"that certificate and refuses a changed one; --fingerprint or --ca replace the pin.",
		Example: "  bmcctl login\n  echo \"$PW\" | bmcctl --host https://turingpi.local login --password-stdin --fingerprint SHA256:AB:…",
		Args:    maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := normalizeHost(e.host)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if e.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, e.timeout)
				defer cancel()
			}
			hc, newPin, err := e.trust(ctx, base, trust)
			if err != nil {
				return err
			}
			c, err := e.clientWith(base, hc)
			if err != nil {
				return err
			}
			password, err := e.password(fromStdin)
			if err != nil {
				return err
			}
			lr, err := c.Login(ctx, user, password)
			var ae *client.APIError
			if errors.As(err, &ae) {
				return fmt.Errorf("log in to %s: %w", c.BaseURL, err)
			}
			if err != nil {
				return e.explain(c, err)
			}
			// Pinned only once the pinned certificate has carried a
			// successful login.
			if newPin != nil {
				if err := savePin(base, *newPin); err != nil {
					return err
				}
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
	cmd.Flags().StringVar(&trust.fingerprint, "fingerprint", "", "pin bmcd's certificate if its SHA-256 fingerprint is this (SHA256:AB:CD:…)")
	cmd.Flags().StringVar(&trust.caFile, "ca", "", "pin the CA certificates in this PEM `file` instead of a fingerprint")
	cmd.Flags().BoolVar(&trust.yes, "yes", false, "pin the certificate shown at a first login without asking")
	cmd.MarkFlagsMutuallyExclusive("fingerprint", "ca", "yes")
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
		Short: "Revoke the cached token for --host on bmcd, and forget it",
		Long: "Ask bmcd to revoke the cached token for --host, then forget it. The token is\n" +
			"forgotten even when bmcd cannot be reached or cannot revoke it; bmcctl then\n" +
			"says until when it stays valid on bmcd, and exits with status 1.",
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return e.logout(cmd.Context()) },
	}
}

// logout revokes the cached token on bmcd and forgets it, whatever bmcd
// answers: a token bmcctl no longer holds cannot be revoked later.
func (e *env) logout(ctx context.Context) error {
	c, err := e.newClient()
	if err != nil {
		return err
	}
	cached, had, err := lookupToken(c.BaseURL)
	if err != nil {
		return err
	}
	expired := c.Token == "" // newClient leaves out an expired token
	var revoke error
	if !expired {
		rctx := ctx
		if e.timeout > 0 {
			var cancel context.CancelFunc
			rctx, cancel = context.WithTimeout(ctx, e.timeout)
			defer cancel()
		}
		revoke = c.Logout(rctx)
	}
	if err := deleteToken(c.BaseURL); err != nil {
		return err
	}
	var how string
	switch {
	case !had:
		_, err = fmt.Fprintf(e.stdout, "Not logged in to %s\n", c.BaseURL)
		return err
	case expired:
		how = "the token had expired"
	case revoke == nil:
		how = "bmcd revoked the token"
	case client.IsUnauthorized(revoke):
		how = "bmcd no longer accepted the token"
	default:
		return fmt.Errorf("token forgotten here but not revoked on bmcd (it stays valid until %s): %w",
			cached.ExpiresAt.In(e.loc).Format("2006-01-02 15:04 MST"), e.logoutError(c, revoke))
	}
	_, err = fmt.Fprintf(e.stdout, "Logged out of %s; %s\n", c.BaseURL, how)
	return err
}

// logoutError explains why bmcd did not revoke the token.
func (e *env) logoutError(c *client.Client, err error) error {
	var ae *client.APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusMethodNotAllowed) {
		return fmt.Errorf("bmcd at %s cannot revoke tokens (it is older than this bmcctl)", c.BaseURL)
	}
	return e.explain(c, err)
}
