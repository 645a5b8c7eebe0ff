package api

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"github.com/turingpi-oss/bmcd/api/auth"
	"github.com/turingpi-oss/bmcd/api/web"
	"github.com/turingpi-oss/bmcd/bmc"
)

// Config configures the API server.
type Config struct {
	Board *bmc.Board
	Auth  *auth.Authenticator
	// Checker runs GET /api/v1/board/check; nil answers 501.
	Checker *bmc.Checker
	// Version is reported by GET /api/v1/board.
	Version string
	// OperationTimeout bounds a power operation. It runs to completion
	// even if the client goes away, so the hardware is never left half
	// way through a power sequence. Default 2 minutes.
	OperationTimeout time.Duration
	// KeepAlive is the interval of comment lines on the event stream,
	// which keep proxies from closing an idle stream. Default 15 s.
	KeepAlive time.Duration
	// ConsoleWriteTimeout is how long a console client's connection may
	// stay blocked before the client is dropped as too slow. Default 30 s.
	ConsoleWriteTimeout time.Duration
	// BodyIdleTimeout is how long a read of a request body (an upload)
	// may wait for the client's next byte before the request fails.
	// There is no bound on the whole body. Default DefaultBodyIdleTimeout.
	BodyIdleTimeout time.Duration
	Logger          *slog.Logger
}

// DefaultBodyIdleTimeout is Config.BodyIdleTimeout's default.
const DefaultBodyIdleTimeout = time.Minute

// maxBodyBytes bounds every JSON request body; none needs more.
const maxBodyBytes = 64 << 10

// Server serves the API. It implements http.Handler.
type Server struct {
	cfg   Config
	board *bmc.Board
	auth  *auth.Authenticator
	log   *slog.Logger
	echo  *echo.Echo
	site  *web.Handler // the web page at "/"
}

var _ http.Handler = (*Server)(nil)

// New returns the API server for a board.
func New(cfg Config) (*Server, error) {
	if cfg.Board == nil || cfg.Auth == nil {
		return nil, errors.New("api: board and authenticator are required")
	}
	if cfg.OperationTimeout <= 0 {
		cfg.OperationTimeout = 2 * time.Minute
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	if cfg.ConsoleWriteTimeout <= 0 {
		cfg.ConsoleWriteTimeout = 30 * time.Second
	}
	if cfg.BodyIdleTimeout <= 0 {
		cfg.BodyIdleTimeout = DefaultBodyIdleTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	site, err := web.Default()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, board: cfg.Board, auth: cfg.Auth, log: cfg.Logger, site: site}
	e := echo.NewWithConfig(echo.Config{
		Logger:           cfg.Logger,
		HTTPErrorHandler: errorHandler(cfg.Logger),
		// Unknown paths are 404 and known paths with another method 405,
		// with or without a token.
		NoGroupAutoRegister404Routes: true,
	})
	// The BMC sits on a LAN without a trusted proxy: the peer address is
	// the client, whatever X-Forwarded-For claims (it keys the login limit).
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(securityHeaders)
	e.Use(middleware.Recover())
	e.Use(s.logRequests)
	e.Use(s.idleBody)

	e.GET("/healthz", s.health)
	e.GET("/*", s.page)
	e.HEAD("/*", s.page)
	v1 := e.Group("/api/v1")
	v1.POST("/auth/login", s.login)

	authed := v1.Group("", s.requireToken)
	authed.POST("/auth/logout", s.logout)
	authed.POST("/auth/ticket", s.ticket)
	authed.GET("/board", s.getBoard)
	authed.GET("/board/check", s.getCheck)
	authed.POST("/board/check", s.postCheck)
	authed.GET("/slots", s.listSlots)
	authed.GET("/slots/:slot", s.getSlot)
	authed.PATCH("/slots/:slot", s.patchSlot)
	authed.POST("/slots/:slot/power", s.powerSlot)
	authed.POST("/power", s.powerAll)
	authed.POST("/power/save-defaults", s.savePowerDefaults)
	authed.POST("/slots/:slot/flash", s.flash)
	authed.GET("/jobs", s.listJobs)
	authed.GET("/jobs/:id", s.getJob)
	authed.DELETE("/jobs/:id", s.cancelJob)
	// The streams a browser opens take a ticket instead of a header.
	streams := v1.Group("", s.requireTokenOrTicket)
	streams.GET("/events", s.events)
	streams.GET("/slots/:slot/console", s.consoleEndpoint)
	authed.PATCH("/slots/:slot/console", s.patchConsole)
	authed.GET("/slots/:slot/console/log", s.consoleLog)
	authed.GET("/cluster/key", s.getClusterKey)
	authed.POST("/cluster", s.postCluster)
	authed.GET("/cluster", s.getCluster)
	authed.GET("/cluster/kubeconfig", s.getKubeconfig)
	authed.GET("/cluster/airgap", s.getAirgap)
	authed.PUT("/cluster/airgap/:file", s.putAirgap)
	authed.DELETE("/cluster", s.deleteCluster)
	authed.POST("/cluster/nodes", s.postClusterNode)
	authed.DELETE("/cluster/nodes/:name", s.deleteClusterNode)
	s.echo = e
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		start := time.Now()
		err := next(c)
		status := http.StatusOK
		if err != nil {
			status, _ = classify(err)
		} else if r, _ := echo.UnwrapResponse(c.Response()); r != nil {
			status = r.Status
		}
		s.log.Debug("api: request", "method", c.Request().Method, "path", c.Request().URL.Path,
			"status", status, "remote", c.RealIP(), "took", time.Since(start))
		return err
	}
}

func (s *Server) health(c *echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}
