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
// exit status is 2 for usage errors and 1 for everything else.
package main

import (
	"context"
	"fmt"
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

// run executes one bmcctl command line and returns the exit status.
func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr *os.File) int {
	cmd := newRoot(&env{stdin: stdin, stdout: stdout, stderr: stderr})
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "bmcctl:", err)
		return exitCode(err)
	}
	return 0
}
