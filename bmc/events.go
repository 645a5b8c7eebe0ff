package bmc

import (
	"sync"
	"time"
)

// EventType says what an Event reports.
type EventType string

// Event types.
const (
	// EventPower: a slot's measured power changed.
	EventPower EventType = "power"
	// EventSlot: a slot's name, module or policy changed.
	EventSlot EventType = "slot"
	// EventJob: a flash job changed state or made progress.
	EventJob EventType = "job"
)

// Event reports one change. IDs increase by one per event, so a
// subscriber that reconnects can ask for what it missed.
type Event struct {
	ID   uint64
	Time time.Time
	Type EventType
	// Slot is set for power and slot events.
	Slot SlotStatus
	// Job is set for job events.
	Job *Job
}

const (
	// eventHistory is how many past events a reconnecting subscriber can replay.
	eventHistory = 256
	// subscriberBuffer is how far a subscriber may fall behind before it
	// is dropped; a stalled reader must never block a power operation.
	subscriberBuffer = 64
)

// Subscription receives events on C until it is closed, by Close or by
// the bus when the subscriber falls more than subscriberBuffer behind
// (then Lagged reports true and the subscriber should reconnect).
type Subscription struct {
	C <-chan Event

	bus    *eventBus
	ch     chan Event
	lagged bool // guarded by bus.mu
	closed bool // guarded by bus.mu
}

// Lagged reports whether the bus dropped this subscriber for falling behind.
func (s *Subscription) Lagged() bool {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	return s.lagged
}

// Close unsubscribes; C is closed.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	s.bus.removeLocked(s)
}

// eventBus fans events out to subscribers without ever blocking the publisher.
type eventBus struct {
	mu      sync.Mutex
	nextID  uint64
	history []Event // ring of the last eventHistory events, oldest first
	subs    map[*Subscription]struct{}
}

func newEventBus() *eventBus {
	return &eventBus{nextID: 1, subs: map[*Subscription]struct{}{}}
}

// subscribe returns a subscription that first replays the remembered
// events with an ID greater than after (0: none), then delivers new ones.
func (b *eventBus) subscribe(after uint64) *Subscription {
	b.mu.Lock()
	defer b.mu.Unlock()
	var replay []Event
	if after > 0 {
		for _, e := range b.history {
			if e.ID > after {
				replay = append(replay, e)
			}
		}
	}
	ch := make(chan Event, subscriberBuffer+len(replay))
	for _, e := range replay {
		ch <- e
	}
	s := &Subscription{C: ch, bus: b, ch: ch}
	b.subs[s] = struct{}{}
	return s
}

func (b *eventBus) publish(e Event) Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	e.ID = b.nextID
	b.nextID++
	if len(b.history) == eventHistory {
		b.history = append(b.history[:0], b.history[1:]...)
	}
	b.history = append(b.history, e)
	for s := range b.subs {
		if len(s.ch) == cap(s.ch) {
			s.lagged = true
			b.removeLocked(s)
			continue
		}
		s.ch <- e
	}
	return e
}

func (b *eventBus) removeLocked(s *Subscription) {
	if s.closed {
		return
	}
	s.closed = true
	delete(b.subs, s)
	close(s.ch)
}
