package cluster

import (
	"fmt"
	"time"
)

// keepalive sends keepalive@openssh.com every interval and drops the
// connection when misses intervals pass with a request unanswered. Any
// reply counts, including OpenSSH's "request failed".
func (c *Conn) keepalive(interval time.Duration, misses int) {
	t := c.clock.NewTicker(interval)
	defer t.Stop()
	reply := make(chan error, 1) // at most one request is in flight
	inFlight, missed := false, 0
	for {
		select {
		case <-c.done:
			return
		case err := <-reply:
			inFlight, missed = false, 0
			if err != nil {
				c.fail(fmt.Errorf("node %s: keepalive: %w", c.node, err))
				return
			}
		case <-t.Chan():
			if inFlight {
				missed++
				if missed >= misses {
					c.log.Warn("ssh keepalive unanswered, dropping connection", "missed", missed)
					c.fail(fmt.Errorf("node %s: %w (%d × %s)", c.node, ErrKeepalive, missed, interval))
					return
				}
				continue
			}
			inFlight = true
			if !c.spawn(func() {
				_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
				reply <- err
			}) {
				return
			}
		}
	}
}
