package flasher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Source is where an image comes from.
type Source interface {
	// Open starts reading the image. size is the number of bytes the
	// stream will deliver (compressed, as received), or -1 if unknown.
	// Closing rc must unblock a Read in progress where the source can.
	Open(ctx context.Context) (rc io.ReadCloser, size int64, err error)
	// OpenPhase is the phase Flash reports until the first bytes arrive:
	// PhaseOpen, PhaseUpload or PhaseDownload.
	OpenPhase() Phase
	// String names the source for logs and job histories.
	String() string
}

// FileSource is an image file on a local file system.
type FileSource struct {
	Path string
}

// Open opens the file.
func (s FileSource) Open(ctx context.Context) (io.ReadCloser, int64, error) {
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, -1, fmt.Errorf("open image: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, -1, fmt.Errorf("open image: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return f, -1, nil
	}
	return f, fi.Size(), nil
}

// OpenPhase returns PhaseOpen.
func (FileSource) OpenPhase() Phase { return PhaseOpen }

// String returns the path.
func (s FileSource) String() string { return s.Path }

// ReaderSource is an image streamed in by someone else, typically the
// body of an HTTP upload: it is read straight through, never staged.
//
// If R is also an io.Closer, Flash closes it when it returns, and as
// soon as its context is done: that unblocks a pending Read on files,
// pipes and network connections. Flash waits for a Read it cannot
// interrupt, so as to leave no goroutine behind. An http.Request body's
// Close waits for a pending Read too: when cancelling such a job the
// handler should also set a read deadline
// (http.NewResponseController(w).SetReadDeadline(time.Now())).
type ReaderSource struct {
	R io.Reader
	// Size is the length of the stream if known (Content-Length); zero
	// or less is unknown. A stream that ends early fails the flash with
	// ErrTruncated, one that runs longer with ErrCorrupt.
	Size int64
	// Name describes the source; default "upload".
	Name string
}

// Open returns R.
func (s ReaderSource) Open(ctx context.Context) (io.ReadCloser, int64, error) {
	if s.R == nil {
		return nil, -1, errors.New("open image: no reader")
	}
	size := s.Size
	if size <= 0 {
		size = -1
	}
	if c, ok := s.R.(io.ReadCloser); ok {
		return c, size, nil
	}
	return io.NopCloser(s.R), size, nil
}

// OpenPhase returns PhaseUpload: the bytes come when the sender sends them.
func (ReaderSource) OpenPhase() Phase { return PhaseUpload }

// String returns Name.
func (s ReaderSource) String() string {
	if s.Name == "" {
		return "upload"
	}
	return s.Name
}

// URLSource is an image the daemon downloads itself with an HTTP or
// HTTPS GET.
type URLSource struct {
	URL string
	// Client defaults to a client with connection and response-header
	// timeouts but no overall one: images take minutes to stream.
	Client *http.Client
	// Header is added to the request (authorization, for instance).
	Header http.Header
	// IdleTimeout fails the download when a read waits that long for
	// data; default 60 s, negative disables it.
	IdleTimeout time.Duration
}

// StatusError is a download answered with a status other than 200 OK.
type StatusError struct {
	URL        string
	StatusCode int
	Status     string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("download %s: server answered %s", e.URL, e.Status)
}

// ErrIdle is the cause of a download that stalled longer than its idle
// timeout.
var ErrIdle = errors.New("flasher: download stalled")

// Open sends the request and returns the response body. The body's size
// is its Content-Length, if the server sent one.
func (s URLSource) Open(ctx context.Context) (io.ReadCloser, int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		cancel(nil)
		return nil, -1, fmt.Errorf("download: %w", err)
	}
	for k, v := range s.Header {
		req.Header[k] = v
	}
	// Transparent gzip would hide the bytes the checksum is for.
	req.Header.Set("Accept-Encoding", "identity")
	client := s.Client
	if client == nil {
		client = defaultClient()
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel(nil)
		return nil, -1, fmt.Errorf("download: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel(nil)
		return nil, -1, &StatusError{URL: s.URL, StatusCode: resp.StatusCode, Status: resp.Status}
	}
	size := resp.ContentLength
	if size < 0 {
		size = -1
	}
	idle := s.IdleTimeout
	if idle == 0 {
		idle = 60 * time.Second
	}
	b := &body{rc: resp.Body, ctx: ctx, cancel: cancel}
	if idle > 0 {
		b.idle = idle
		b.timer = time.AfterFunc(idle, func() {
			cancel(fmt.Errorf("%w: no data for %v", ErrIdle, idle))
		})
		b.timer.Stop() // runs only while a Read waits
	}
	return b, size, nil
}

// OpenPhase returns PhaseDownload.
func (URLSource) OpenPhase() Phase { return PhaseDownload }

// String returns the URL.
func (s URLSource) String() string { return s.URL }

func defaultClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ForceAttemptHTTP2:     true,
		// One download per client: no idle connection (and goroutines)
		// left behind.
		DisableKeepAlives: true,
	}}
}

// body is a response body that fails a Read waiting longer than idle
// for data. Time spent between Reads (the disk being slow) does not
// count.
type body struct {
	rc     io.ReadCloser
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   time.Duration
	timer  *time.Timer
	once   sync.Once
}

func (b *body) Read(p []byte) (int, error) {
	if b.timer != nil {
		b.timer.Reset(b.idle)
	}
	n, err := b.rc.Read(p)
	if b.timer != nil {
		b.timer.Stop()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		if cause := context.Cause(b.ctx); cause != nil && errors.Is(cause, ErrIdle) {
			err = fmt.Errorf("download: %w", cause)
		}
	}
	return n, err
}

func (b *body) Close() error {
	var err error
	b.once.Do(func() {
		if b.timer != nil {
			b.timer.Stop()
		}
		b.cancel(nil)
		err = b.rc.Close()
	})
	return err
}
