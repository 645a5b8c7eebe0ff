package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/turingpi-oss/bmcd/api/client"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130 // 128 + SIGINT, as shells report it
)

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// usagef returns a usage error with a formatted message.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitCode is the exit status for err, returned by a command run in ctx.
func exitCode(ctx context.Context, err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case ctx.Err() != nil:
		return exitInterrupted
	}
	return exitFailure
}

// message is the one line printed for err.
func message(ctx context.Context, err error) string {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	return err.Error()
}

// explain turns what a user cannot act on into what they can: a refused
// token becomes "run 'bmcctl login'" (and the cached token, which no
// longer works, is dropped), a timeout names --timeout.
func (e *env) explain(c *client.Client, err error) error {
	var certErr *client.CertificateError
	var redirect *client.RedirectError
	switch {
	case err == nil:
		return nil
	case client.IsUnauthorized(err):
		if c.Token != "" {
			_ = deleteToken(c.BaseURL)
		}
		return fmt.Errorf("not logged in to %s: run 'bmcctl login'", c.BaseURL)
	case errors.As(err, &certErr):
		return certificateRefused(c.BaseURL, certErr)
	case errors.As(err, &redirect):
		return fmt.Errorf("bmcd at %s redirects to %s://%s: use --host %s://%s", c.BaseURL, redirect.To.Scheme, redirect.To.Host, redirect.To.Scheme, redirect.To.Host)
	case errors.Is(err, context.DeadlineExceeded) && e.timeout > 0:
		return fmt.Errorf("no answer from bmcd at %s within %s (see --timeout)", c.BaseURL, e.timeout)
	}
	return err
}

// certificateRefused says what to do about a certificate that is not the
// pinned one: check the new fingerprint and pin it, or suspect the
// network. One line, as bmcctl prints errors.
func certificateRefused(base string, ce *client.CertificateError) error {
	if ce.Err != nil {
		return fmt.Errorf("the certificate of %s is not vouched for by the pinned CA (%v); its fingerprint is %s: "+
			"if bmcd's certificate was replaced on purpose, run 'bmcctl --host %s login --ca FILE' or '--fingerprint %s'",
			base, ce.Err, ce.Got, base, ce.Got)
	}
	return fmt.Errorf("the certificate of %s has CHANGED: bmcctl pinned %s, bmcd now presents %s; "+
		"someone may be intercepting the connection. If bmcd's certificate was replaced on purpose (a new state dir, "+
		"http.tls_cert), compare the new fingerprint with the one bmcd printed at start, then run "+
		"'bmcctl --host %s login --fingerprint %s'", base, ce.Pinned, ce.Got, base, ce.Got)
}
