package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v5"
)

// idleBody gives every request body an idle deadline instead of a
// whole-request one: each read must see a byte within BodyIdleTimeout,
// however long the whole body takes. An upload is read only as fast as
// the eMMC is written, so a large image takes many minutes; a client that
// stops sending still fails.
func (s *Server) idleBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &idleReader{
				body:    r.Body,
				rc:      http.NewResponseController(c.Response()),
				timeout: s.cfg.BodyIdleTimeout,
			}
		}
		return next(c)
	}
}

// idleReader extends the connection's read deadline before each read.
type idleReader struct {
	body    io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	// noDeadline is set where the connection has no deadlines (tests
	// with a recorder); the body then reads without one.
	noDeadline bool
}

func (r *idleReader) Read(p []byte) (int, error) {
	if !r.noDeadline {
		if err := r.rc.SetReadDeadline(time.Now().Add(r.timeout)); errors.Is(err, http.ErrNotSupported) {
			r.noDeadline = true
		}
	}
	n, err := r.body.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("request body: nothing received for %s: %w", r.timeout, err)
	}
	return n, err
}

func (r *idleReader) Close() error { return r.body.Close() }
