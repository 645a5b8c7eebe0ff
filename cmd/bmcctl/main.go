// Command bmcctl manages a Turing Pi board through bmcd's API.
//
// Usage:
//
//	bmcctl login
//	bmcctl power on 3
//	bmcctl power status
//	bmcctl slots
//
// Run "bmcctl help" for every command. Errors are one line on stderr; the
// exit status is 2 for usage errors, 130 when interrupted and 1 for
// everything else.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
