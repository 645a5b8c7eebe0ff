package usbsim

import (
	"context"
	"time"

	"github.com/jonboulle/clockwork"
)

// DriveClock advances c by step each time something waits on it, until
// ctx is done; run it in its own goroutine. Time then passes only while
// the code under test sleeps or waits for a transfer, so a boot that takes
// a minute of simulated time runs in milliseconds and deadlines compare
// against simulated time exactly.
//
// That holds as long as the waiters are sleeps and transfer timeouts.
// Code that keeps a timer armed while it works (a context deadline made
// with clockwork.WithTimeout, a forgotten timer) lets the clock run while
// it works.
func DriveClock(ctx context.Context, c *clockwork.FakeClock, step time.Duration) {
	for {
		if err := c.BlockUntilContext(ctx, 1); err != nil {
			return
		}
		c.Advance(step)
	}
}
