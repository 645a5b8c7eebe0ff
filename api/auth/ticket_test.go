package auth_test

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/auth"
)

// ticketAuth returns an Authenticator on a fake clock and a logged-in token.
func ticketAuth(t *testing.T) (*auth.Authenticator, *clockwork.FakeClock, string) {
	t.Helper()
	clock := clockwork.NewFakeClock()
	a, _ := newAuth(t, auth.Config{StateDir: t.TempDir(), Password: auth.PasswordSource{Clear: "pw"}, TokenTTL: time.Hour, Clock: clock})
	token, _, err := a.Login("1.2.3.4", "admin", "pw")
	require.NoError(t, err)
	return a, clock, token
}

func TestTicket(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// between runs after the ticket is issued and before it is redeemed.
		between func(t *testing.T, a *auth.Authenticator, clock *clockwork.FakeClock, token, ticket string)
		ok      bool
	}{
		{name: "redeemed at once", between: func(*testing.T, *auth.Authenticator, *clockwork.FakeClock, string, string) {}, ok: true},
		{name: "just before expiry", ok: true, between: func(_ *testing.T, _ *auth.Authenticator, clock *clockwork.FakeClock, _, _ string) {
			clock.Advance(auth.TicketTTL - time.Millisecond)
		}},
		{name: "expired", between: func(_ *testing.T, _ *auth.Authenticator, clock *clockwork.FakeClock, _, _ string) {
			clock.Advance(auth.TicketTTL)
		}},
		{name: "used twice", between: func(t *testing.T, a *auth.Authenticator, _ *clockwork.FakeClock, _, ticket string) {
			_, err := a.RedeemTicket(ticket)
			require.NoError(t, err)
		}},
		{name: "session logged out", between: func(t *testing.T, a *auth.Authenticator, _ *clockwork.FakeClock, token, _ string) {
			require.NoError(t, a.Logout(token))
		}},
		{name: "other session logged out", ok: true, between: func(t *testing.T, a *auth.Authenticator, _ *clockwork.FakeClock, _, _ string) {
			other, _, err := a.Login("1.2.3.4", "admin", "pw")
			require.NoError(t, err)
			require.NoError(t, a.Logout(other))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, clock, token := ticketAuth(t)
			ticket, err := a.IssueTicket(token)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, len(ticket), 43, "256 random bits")
			assert.NotEqual(t, token, ticket)
			tc.between(t, a, clock, token, ticket)
			s, err := a.RedeemTicket(ticket)
			if !tc.ok {
				assert.ErrorIs(t, err, auth.ErrBadTicket)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, auth.AdminUser, s.User)
			_, err = a.RedeemTicket(ticket)
			assert.ErrorIs(t, err, auth.ErrBadTicket, "a ticket is good for one use")
		})
	}
}

func TestTicketNeedsAValidSession(t *testing.T) {
	t.Parallel()
	a, clock, token := ticketAuth(t)
	_, err := a.IssueTicket("not-a-token")
	assert.ErrorIs(t, err, auth.ErrBadToken)
	_, err = a.RedeemTicket(token)
	assert.ErrorIs(t, err, auth.ErrBadTicket, "a token is not a ticket")
	_, err = a.RedeemTicket("")
	assert.ErrorIs(t, err, auth.ErrBadTicket)

	// A ticket issued shortly before the session expires dies with it.
	clock.Advance(time.Hour - time.Second)
	ticket, err := a.IssueTicket(token)
	require.NoError(t, err)
	clock.Advance(2 * time.Second)
	_, err = a.RedeemTicket(ticket)
	assert.ErrorIs(t, err, auth.ErrBadTicket)
	_, err = a.IssueTicket(token)
	assert.ErrorIs(t, err, auth.ErrBadToken)
}

func TestTicketsBoundedPerSession(t *testing.T) {
	t.Parallel()
	a, clock, token := ticketAuth(t)
	var last string
	issued := 0
	for ; issued < 10_000; issued++ {
		ticket, err := a.IssueTicket(token)
		if err != nil {
			assert.ErrorIs(t, err, auth.ErrTooManyTickets)
			break
		}
		last = ticket
	}
	require.Less(t, issued, 10_000, "unredeemed tickets must be bounded")
	// Redeeming one frees its place; expiry frees them all.
	_, err := a.RedeemTicket(last)
	require.NoError(t, err)
	_, err = a.IssueTicket(token)
	require.NoError(t, err)
	_, err = a.IssueTicket(token)
	assert.ErrorIs(t, err, auth.ErrTooManyTickets)
	clock.Advance(auth.TicketTTL)
	_, err = a.IssueTicket(token)
	assert.NoError(t, err)

	// Another session has its own allowance.
	other, _, err := a.Login("1.2.3.4", "admin", "pw")
	require.NoError(t, err)
	_, err = a.IssueTicket(other)
	assert.NoError(t, err)
}
