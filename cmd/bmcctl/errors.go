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
	switch {
	case err == nil:
		return nil
	case client.IsUnauthorized(err):
		if c.Token != "" {
			_ = deleteToken(c.BaseURL)
		}
		return fmt.Errorf("not logged in to %s: run 'bmcctl login'", c.BaseURL)
	case errors.Is(err, context.DeadlineExceeded) && e.timeout > 0:
		return fmt.Errorf("no answer from bmcd at %s within %s (see --timeout)", c.BaseURL, e.timeout)
	}
	return err
}
