package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/client"
)

// env is what commands read and write; tests replace it.
type env struct {
	stdin          *os.File
	stdout, stderr io.Writer

	host    string
	output  string
	timeout time.Duration
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

const defaultHost = "http://127.0.0.1:8080"

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "bmcctl",
		Short:         "Manage a Turing Pi board through bmcd",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if e.output != "table" && e.output != "json" {
				return usagef("output %q: want table or json", e.output)
			}
			return nil
		},
	}
	host := os.Getenv("BMC_HOST")
	if host == "" {
		host = defaultHost
	}
	root.PersistentFlags().StringVar(&e.host, "host", host, "bmcd address: host, host:port or URL (env BMC_HOST)")
	root.PersistentFlags().StringVarP(&e.output, "output", "o", "table", "output format: table or json")
	root.PersistentFlags().DurationVar(&e.timeout, "timeout", 2*time.Minute, "how long to wait for bmcd")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.AddCommand(
		newLogin(e), newLogout(e), newBoard(e), newSlots(e), newSlotCmd(e),
		newPower(e), newFlash(e), newJobs(e), newEvents(e), newVersion(e),
	)
	return root
}

// normalizeHost turns "turingpi.local", "10.0.0.5:8080" or a URL into a
// base URL without a trailing slash. A bare host means port 80.
func normalizeHost(h string) (string, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", usagef("empty --host")
	}
	if !strings.Contains(h, "://") {
		h = "http://" + h
	}
	u, err := url.Parse(h)
	if err != nil || u.Host == "" {
		return "", usagef("invalid --host %q", h)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", usagef("invalid --host %q: scheme must be http or https", h)
	}
	if u.Path != "" && u.Path != "/" {
		return "", usagef("invalid --host %q: no path expected", h)
	}
	return u.Scheme + "://" + u.Host, nil
}

// newClient returns a client for --host with the cached token, if any.
func (e *env) newClient() (*client.Client, error) {
	base, err := normalizeHost(e.host)
	if err != nil {
		return nil, err
	}
	c := &client.Client{BaseURL: base, HTTP: &http.Client{}}
	tok, err := loadToken(base)
	if err != nil {
		return nil, err
	}
	c.Token = tok
	return c, nil
}

// authError turns a refused token into the sentence a user needs, and
// drops the cached token that no longer works.
func authError(c *client.Client, err error) error {
	if !client.IsUnauthorized(err) {
		return err
	}
	if c.Token != "" {
		_ = deleteToken(c.BaseURL)
	}
	return fmt.Errorf("not logged in to %s: run 'bmcctl login'", c.BaseURL)
}
