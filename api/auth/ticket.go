package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// TicketTTL is how long a ticket can be redeemed after it was issued.
// A browser asks for one right before it opens a stream, so a few
// seconds would do; 30 s leaves room for a slow phone.
const TicketTTL = 30 * time.Second

// maxTicketsPerSession bounds the unredeemed tickets one session may
// hold, so that a client asking in a loop cannot grow bmcd's memory.
const maxTicketsPerSession = 64

// Errors returned by IssueTicket and RedeemTicket.
var (
	ErrBadTicket      = errors.New("missing, unknown, used or expired ticket")
	ErrTooManyTickets = errors.New("too many unused tickets for this session")
)

// ticket is an issued, unredeemed ticket.
type ticket struct {
	session string // tokenKey of the session's token
	expires time.Time
}

// IssueTicket returns a new single-use ticket standing for the session of
// token, for clients that cannot send an Authorization header (a
// browser's EventSource and WebSocket). It is valid for TicketTTL, for
// one request, and only while the session is: Logout revokes it.
// Tickets live only in memory; a restart of bmcd forgets them.
func (a *Authenticator) IssueTicket(token string) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("auth: make ticket: %w", err)
	}
	t := base64.RawURLEncoding.EncodeToString(raw[:])

	a.mu.Lock()
	defer a.mu.Unlock()
	key := tokenKey(token)
	if _, err := a.checkLocked(key); err != nil {
		return "", err
	}
	now := a.clock.Now()
	held := 0
	for k, tk := range a.tickets {
		switch {
		case !now.Before(tk.expires):
			delete(a.tickets, k)
		case tk.session == key:
			held++
		}
	}
	if held >= maxTicketsPerSession {
		return "", ErrTooManyTickets
	}
	a.tickets[tokenKey(t)] = ticket{session: key, expires: now.Add(TicketTTL)}
	return t, nil
}

// RedeemTicket returns the session a ticket stands for and makes the
// ticket unusable: a second redemption fails, as do an expired ticket
// and one whose session has ended.
func (a *Authenticator) RedeemTicket(t string) (Session, error) {
	if t == "" {
		return Session{}, ErrBadTicket
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	key := tokenKey(t)
	tk, ok := a.tickets[key]
	if !ok {
		return Session{}, ErrBadTicket
	}
	delete(a.tickets, key)
	if !a.clock.Now().Before(tk.expires) {
		return Session{}, ErrBadTicket
	}
	s, err := a.checkLocked(tk.session)
	if err != nil {
		return Session{}, ErrBadTicket
	}
	return s, nil
}

// revokeTicketsLocked forgets every ticket of the session with the token
// key; a.mu must be held.
func (a *Authenticator) revokeTicketsLocked(session string) {
	for k, tk := range a.tickets {
		if tk.session == session {
			delete(a.tickets, k)
		}
	}
}
