package bmc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/turingpi-oss/bmcd/bmc/console"
	"github.com/turingpi-oss/bmcd/flasher/firstboot"
)

// maxMarkerLine bounds the console line kept while looking for a marker;
// longer lines are not markers and are dropped.
const maxMarkerLine = 4 << 10

// markerWatch holds the console clients the marker watch reads, attached
// when the board is made: only output from then on is read (a node
// prints its marker at every boot, and the addresses seen before are in
// the state file), and none of it is missed before Run starts.
type markerWatch struct {
	clients map[int]*console.Client
	started atomic.Bool // Next must not run twice at once on a client
}

func newMarkerWatch(cs *Consoles) *markerWatch {
	w := &markerWatch{clients: map[int]*console.Client{}}
	if cs != nil {
		for slot, c := range cs.bySlot {
			w.clients[slot] = c.Watch(0)
		}
	}
	return w
}

func (w *markerWatch) close() {
	for _, cl := range w.clients {
		cl.Close()
	}
}

// watchMarkers follows every slot's console for the first-boot marker a
// prepared node prints (firstboot.MarkerPrefix) and records the node's
// addresses. The returned function waits until the watchers have stopped
// (ctx done). Only the first call watches.
func (b *Board) watchMarkers(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	if b.markers.started.CompareAndSwap(false, true) {
		for slot, cl := range b.markers.clients {
			wg.Go(func() { b.watchConsole(ctx, slot, cl) })
		}
	}
	return wg.Wait
}

// watchConsole splits one console's output into lines and hands each
// marker line to sawMarker, until ctx is done or the console closes.
func (b *Board) watchConsole(ctx context.Context, slot int, cl *console.Client) {
	var line []byte
	overflow := false
	for {
		ch, err := cl.Next(ctx)
		if err != nil {
			return // ctx done or console closed
		}
		if ch.Missed > 0 {
			line, overflow = line[:0], true // the line's start is lost
		}
		data := ch.Data
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				if len(line)+len(data) > maxMarkerLine {
					line, overflow = line[:0], true
				} else {
					line = append(line, data...)
				}
				break
			}
			if !overflow && len(line)+i <= maxMarkerLine {
				line = append(line, data[:i]...)
				b.consoleLine(slot, string(line))
			}
			line, overflow = line[:0], false
			data = data[i+1:]
		}
	}
}

// consoleLine looks for a marker in one console line.
func (b *Board) consoleLine(slot int, line string) {
	m, err := firstboot.ParseMarker(line)
	switch {
	case errors.Is(err, firstboot.ErrNotMarker):
		return
	case err != nil:
		b.log.Warn("bmc: console: malformed first-boot marker", "slot", slot, "err", err)
		return
	}
	if err := b.sawMarker(slot, m); err != nil {
		b.log.Error("bmc: record first-boot marker", "slot", slot, "err", err)
	}
}

// sawMarker records what a node's marker says against the slot's record:
// its addresses when host name and key match, a warning when they do not
// (the node is not the one bmcd prepared, or it replaced its host key, so
// its key must not be trusted). A marker on an unprepared slot is logged.
func (b *Board) sawMarker(slot int, m firstboot.Marker) error {
	b.mu.Lock()
	cur := clonePrepared(b.cfgs[slot-1].Prepared)
	b.mu.Unlock()
	if cur == nil {
		b.log.Info("bmc: first-boot marker on a slot bmcd did not prepare", "slot", slot, "host", m.Hostname)
		return nil
	}
	next := *cur
	switch {
	case m.Fingerprint != cur.Fingerprint:
		next.Warning = fmt.Sprintf("the node's console reports host key %s, not the %s bmcd generated: not trusted", m.Fingerprint, cur.Fingerprint)
	case m.Hostname != cur.Hostname:
		next.Warning = fmt.Sprintf("the node's console reports host name %s, not %s", m.Hostname, cur.Hostname)
	default:
		next.Warning = ""
		next.Addrs = markerAddrs(m)
		next.AddrsSeen = b.clock.Now().UTC()
	}
	if next.Warning != "" {
		b.log.Warn("bmc: "+next.Warning, "slot", slot)
	}
	err := b.updateConfig(slot, func(c *slotConfig) {
		// Only if the slot was not flashed again meanwhile.
		if c.Prepared != nil && c.Prepared.Job == cur.Job {
			c.Prepared = &next
		}
	})
	if err != nil {
		return err
	}
	b.publishSlot(slot)
	return nil
}

// markerAddrs are a marker's addresses as the slot records them: with the
// SSH port only when the node named one (simulated nodes on loopback).
func markerAddrs(m firstboot.Marker) []string {
	out := make([]string, len(m.Addrs))
	for i, a := range m.Addrs {
		if m.Port != 0 {
			out[i] = netip.AddrPortFrom(a, m.Port).String()
		} else {
			out[i] = a.String()
		}
	}
	return out
}
