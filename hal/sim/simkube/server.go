package simkube

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// ErrConfig means a Config lacks its credentials or its node lister.
var ErrConfig = errors.New("config needs credentials and a node lister")

// TLSConfig is the API's TLS: the serving certificate, and client
// certificates requested but not verified by the handshake: the handler
// verifies them, so a client without one (or with a foreign one) gets an
// HTTP 401, as from Kubernetes, not a failed handshake.
func TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequestClientCert,
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}
}

// Server is an API server listening on a TCP address.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
	err  error

	closeOnce sync.Once
}

// Listen serves the API ([NewHandler]) over TLS on addr ("127.0.1.1:6443";
// port 0 picks one), with a serving certificate from cfg's server CA for
// k3s's default names, the listening address and hosts (the node's
// hostname, say).
func Listen(addr string, hosts []string, cfg Config) (*Server, error) {
	if cfg.Credentials == nil || cfg.Nodes == nil {
		return nil, fmt.Errorf("simkube: listen %s: %w", addr, ErrConfig)
	}
	clock := cfg.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("simkube: %w", err)
	}
	bound := ln.Addr().(*net.TCPAddr).AddrPort().Addr().Unmap()
	sans := append([]string{bound.String()}, hosts...)
	cert, err := cfg.Credentials.ServingCert(sans, clock.Now())
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{ln: ln, done: make(chan struct{}), srv: &http.Server{
		Handler:           NewHandler(cfg),
		TLSConfig:         TLSConfig(cert),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Handshake failures (a client that does not trust the CA) are
		// the client's to report.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}}
	go func() {
		defer close(s.done)
		if err := s.srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	log.Debug("simkube: API listening", "addr", ln.Addr())
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() netip.AddrPort { return s.ln.Addr().(*net.TCPAddr).AddrPort() }

// URL is the server's https URL, as a kubeconfig names it.
func (s *Server) URL() string { return "https://" + s.Addr().String() }

// Close stops listening and closes every connection, as the node's k3s
// stopping does, and waits for the server to end.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		err = s.srv.Close()
		<-s.done
		if err == nil {
			err = s.err
		}
	})
	if err != nil {
		return fmt.Errorf("simkube: close %s: %w", s.ln.Addr(), err)
	}
	return nil
}
