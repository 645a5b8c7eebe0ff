package console

import "errors"

// Sentinel errors. Callers test them with errors.Is.
var (
	// ErrClosed is returned after [Console.Close] (or [Client.Close]).
	ErrClosed = errors.New("console: closed")
	// ErrNotOpen is returned by [Console.Write] while the port is not
	// open (it was lost and is being reopened, or never opened yet).
	ErrNotOpen = errors.New("console: port not open")
	// ErrInvalidMode reports unacceptable line settings.
	ErrInvalidMode = errors.New("invalid console mode")
	// ErrInvalidConfig reports an unacceptable [Config].
	ErrInvalidConfig = errors.New("console: invalid config")
)
