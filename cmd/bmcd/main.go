// Command bmcd is the Turing Pi board-management daemon: it powers the
// compute-module slots and serves the REST API that bmcctl uses.
//
// Usage:
//
//	bmcd [--config FILE] [--board sim|tp1|tp2-v2.4|tp2-v2.5] [--listen ADDR] [--state-dir DIR]
//	     [--tls[=false]] [--redirect-listen ADDR|off]
//	bmcd check [--active SLOT] [--json] [the same flags]
//
// See README.md for the configuration reference.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// The main goroutine keeps the main thread: a background flash's
	// threads take the idle policy and end with their goroutines, which
	// Go cannot do to the main thread.
	runtime.LockOSThread()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	switch {
	case errors.Is(err, errVersion):
		fmt.Println(version)
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "bmcd:", err)
		os.Exit(1)
	}
}

// run starts the daemon and blocks until ctx is done or serving fails.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "check" {
		return runCheck(ctx, args[1:], os.Stdout, stderr)
	}
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	unlock, err := lockStateDir(cfg.StateDir)
	if err != nil {
		return err
	}
	defer unlock()
	d, err := newDaemon(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	return d.serve(ctx)
}
