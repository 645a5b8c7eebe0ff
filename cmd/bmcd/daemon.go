package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api"
	"github.com/turingpi-oss/bmcd/api/auth"
	"github.com/turingpi-oss/bmcd/api/tlscert"
	"github.com/turingpi-oss/bmcd/bmc"
)

// daemon is bmcd wired together.
type daemon struct {
	cfg    config
	log    *slog.Logger
	stderr io.Writer
	board  *bmc.Board
	api    *api.Server
	// cert is served over TLS; nil for plain HTTP.
	cert  *tlscert.Cert
	close func() error
}

func newDaemon(ctx context.Context, cfg config, stderr io.Writer) (*daemon, error) {
	level, _ := cfg.level()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	hw, err := openHardware(cfg, log)
	if err != nil {
		return nil, err
	}
	consoles, err := openConsoles(cfg, hw.consoles, log)
	if err != nil {
		return nil, closeAfter(err, "the board", hw.close)
	}
	// Consoles stop before the hardware under them.
	closeHW := func() error { return errors.Join(consoles.Close(), hw.close()) }
	board, err := bmc.New(bmc.Config{
		HW:                 hw.board,
		Flash:              hw.flash,
		Consoles:           consoles,
		StateDir:           cfg.StateDir,
		SelfSlot:           cfg.Power.SelfSlot,
		StaggerDelay:       cfg.Power.Stagger,
		CycleDelay:         cfg.Power.CycleDelay,
		PollInterval:       cfg.Power.PollInterval,
		StateWriteInterval: cfg.Power.StateWriteInterval,
		Prepare:            cfg.Prepare.defaults(),
		AirgapDir:          cfg.Cluster.AirgapDir,
		Logger:             log,
	})
	if err != nil {
		return nil, closeAfter(err, "the board", closeHW)
	}
	authn, generated, err := auth.New(auth.Config{
		StateDir: cfg.StateDir,
		Password: auth.PasswordSource{Hash: cfg.Auth.AdminPasswordHash, Clear: cfg.Auth.AdminPassword},
		TokenTTL: cfg.Auth.TokenTTL,
		Logger:   log,
	})
	if err != nil {
		return nil, closeAfter(err, "the board", closeHW)
	}
	if generated != "" {
		fmt.Fprintf(stderr, "\nbmcd: generated a password for user %q; it is shown only this once\n"+
			"      (stored as a bcrypt hash in %s):\n\n      %s\n\n",
			auth.AdminUser, filepath.Join(cfg.StateDir, "auth.json"), generated)
	}
	cert, err := loadCert(cfg, log, stderr)
	if err != nil {
		return nil, closeAfter(err, "the board", closeHW)
	}
	board.AddWarnings(firmwareWarnings(cfg, hw)...)
	srv, err := api.New(api.Config{
		Board:           board,
		Auth:            authn,
		Checker:         newChecker(cfg, hw, board, os.DirFS("/")),
		Version:         version,
		BodyIdleTimeout: cfg.HTTP.BodyIdleTimeout,
		Logger:          log,
	})
	if err != nil {
		return nil, closeAfter(err, "the board", closeHW)
	}
	info := board.Info()
	log.Info("bmcd: starting", "version", version, "board", info.Model, "slots", info.Slots, "state_dir", cfg.StateDir)
	return &daemon{cfg: cfg, log: log, stderr: stderr, board: board, api: srv, cert: cert, close: closeHW}, nil
}

// closeAfter closes what was opened before err happened. A failure to
// close is added to err; a clean close adds nothing.
func closeAfter(err error, what string, close func() error) error {
	if cerr := close(); cerr != nil {
		return fmt.Errorf("%w; closing %s also failed: %w", err, what, cerr)
	}
	return err
}

// serve applies the restore policy, serves the API until ctx is done,
// then shuts down gracefully. Slots keep their power when bmcd stops.
func (d *daemon) serve(ctx context.Context) (err error) {
	defer func() {
		if cerr := d.board.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("save state: %w", cerr)
		}
		if cerr := d.close(); cerr != nil && err == nil {
			err = fmt.Errorf("close board: %w", cerr)
		}
	}()
	if err := d.board.RestorePower(ctx); err != nil {
		d.log.Error("bmcd: restore power policy", "err", err)
	}
	limit := d.cfg.Memory.apply()
	d.log.Debug("bmcd: soft memory limit", "bytes", limit)
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		_ = d.board.Run(ctx)
	}()
	defer func() { <-pollDone }()
	releaseDone := make(chan struct{})
	go func() {
		defer close(releaseDone)
		releaseAfterJobs(ctx, d.board, d.log)
	}()
	defer func() { <-releaseDone }()

	ln, err := d.listen(ctx)
	if err != nil {
		return err
	}
	if d.cfg.HTTP.RedirectListen != "off" {
		stopRedirect, err := d.serveRedirect(ctx, ln.Addr())
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer stopRedirect()
	}
	scheme := "http"
	if d.cert != nil {
		scheme = "https"
	}
	sc := echo.StartConfig{
		Listener:        ln,
		HideBanner:      true,
		HidePort:        true,
		GracefulTimeout: 10 * time.Second,
		ListenerAddrFunc: func(addr net.Addr) {
			// Tests and make run read this line to find the port.
			fmt.Fprintf(d.stderr, "bmcd: listening on %s://%s\n", scheme, addr)
		},
		BeforeServeFunc: func(s *http.Server) error {
			d.cfg.HTTP.apply(s)
			// Event streams (an open web page) last for hours: they end
			// when the shutdown starts instead of holding it for the
			// whole GracefulTimeout. Power operations are detached from
			// their request and still finish.
			streams, endStreams := context.WithCancel(context.Background())
			s.BaseContext = func(net.Listener) context.Context { return streams }
			s.RegisterOnShutdown(endStreams)
			s.ErrorLog = serverErrorLog(d.log)
			return nil
		},
	}
	if err := sc.Start(ctx, d.api); err != nil && err != http.ErrServerClosed {
		return fmt.Errorf("serve %s: %w", d.cfg.Listen, err)
	}
	d.log.Info("bmcd: stopped; slots keep their power")
	return nil
}
