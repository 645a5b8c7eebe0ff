// Package auth authenticates bmcd's API users: the admin password, kept
// only as a bcrypt hash; bearer tokens with an expiry; and a per-address
// limit on failed logins.
//
// # Password
//
// The admin password comes from the configuration (as a bcrypt hash, or in
// clear, which is hashed at start), or, when neither is set, is generated
// at the first start, handed back once for the operator to see, and stored
// as a bcrypt hash in the state directory. The clear password is never
// written anywhere.
//
// # Tokens
//
// A login returns a random 256-bit token that expires after a fixed
// lifetime. Only the SHA-256 of each token is kept, in the state
// directory, so sessions survive a restart of bmcd and a copy of the
// state directory cannot be replayed as a token.
//
// # Tickets
//
// Browsers cannot send an Authorization header on an EventSource or a
// WebSocket, and a token in a URL ends up in logs and history. A session
// can instead get a ticket: random, single use, valid for TicketTTL, kept
// (hashed) only in memory, and revoked with its session at logout.
//
// Each session carries a role; today every user is "admin". Roles are
// later work.
package auth
