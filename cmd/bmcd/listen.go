package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/turingpi-oss/bmcd/api"
	"github.com/turingpi-oss/bmcd/api/tlscert"
)

// loadCert returns the certificate to serve, nil with TLS off, and shows
// its fingerprint on stderr: the operator compares it with what a
// browser or bmcctl login shows.
func loadCert(cfg config, log *slog.Logger, stderr io.Writer) (*tlscert.Cert, error) {
	if !cfg.HTTP.tlsOn() {
		return nil, nil
	}
	cert, err := tlscert.Load(tlscert.Config{
		CertFile: cfg.HTTP.TLSCert,
		KeyFile:  cfg.HTTP.TLSKey,
		StateDir: cfg.StateDir,
		Hosts:    tlscert.LocalHosts(),
		Logger:   log,
	})
	if err != nil {
		return nil, err
	}
	how := "configured"
	if cfg.HTTP.TLSCert == "" {
		how = "self-signed"
	}
	log.Info("bmcd: TLS certificate", "fingerprint", cert.Fingerprint.String(), "path", cert.CertFile, "kind", how)
	fmt.Fprintf(stderr, "bmcd: TLS certificate %s (%s, %s)\n", cert.Fingerprint, how, cert.CertFile)
	if now := time.Now(); now.After(cert.Leaf.NotAfter) {
		log.Warn("bmcd: the TLS certificate has expired; browsers will refuse it", "not_after", cert.Leaf.NotAfter)
	}
	return cert, nil
}

// listen opens the API's listener, with TLS when a certificate is set.
func (d *daemon) listen(ctx context.Context) (net.Listener, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", d.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", d.cfg.Listen, err)
	}
	if d.cert == nil {
		return ln, nil
	}
	return tls.NewListener(ln, &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{d.cert.TLS},
		// HTTP/1.1 only: the console WebSocket upgrades an HTTP/1.1
		// request, and a BMC's few clients gain nothing from HTTP/2.
		NextProtos: []string{"http/1.1"},
	}), nil
}

// serveRedirect answers plain HTTP on the redirect address with a
// redirect to the HTTPS listener at tlsAddr. stop shuts it down.
func (d *daemon) serveRedirect(ctx context.Context, tlsAddr net.Addr) (stop func(), err error) {
	_, port, err := net.SplitHostPort(tlsAddr.String())
	if err != nil {
		return nil, fmt.Errorf("redirect to %s: %w", tlsAddr, err)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", d.cfg.HTTP.RedirectListen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for the HTTPS redirect: %w", d.cfg.HTTP.RedirectListen, err)
	}
	srv := &http.Server{
		Handler:           api.HTTPSRedirect(port),
		ReadHeaderTimeout: d.cfg.HTTP.ReadHeaderTimeout,
		IdleTimeout:       d.cfg.HTTP.IdleTimeout,
		ErrorLog:          serverErrorLog(d.log),
	}
	fmt.Fprintf(d.stderr, "bmcd: redirecting http://%s to https\n", ln.Addr())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("bmcd: HTTPS redirect stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}

// serverErrorLog is an http.Server's ErrorLog. Failed TLS handshakes go
// to debug: every browser that has not accepted the self-signed
// certificate yet, and every client refusing it, makes one, and they
// would bury the errors that matter.
func serverErrorLog(l *slog.Logger) *log.Logger { return log.New(handshakeFilter{l}, "", 0) }

type handshakeFilter struct{ log *slog.Logger }

func (f handshakeFilter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelError
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		level = slog.LevelDebug
	}
	f.log.Log(context.Background(), level, "bmcd: "+msg)
	return len(p), nil
}
