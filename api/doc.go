// Package api is bmcd's HTTP interface: REST API v1 in JSON, the
// Server-Sent Events stream of board events, and authentication, served
// with echo v5. It talks to the board only through package bmc: it
// imports no hal package, and the slots, power states, consoles and
// errors it serves are bmc's.
//
// # Errors
//
// Every error is {"error":{"code":"...","message":"..."}} with a status
// that says whose fault it is: 400 malformed request, 401 no or bad
// token, 403 a WebSocket opened by another site's page, 404 no such slot,
// 409 slot busy or protected, 413 body too large,
// 429 too many failed logins, 501 the board cannot do it, 500 the
// hardware or bmcd failed. The codes are the Code* constants of package
// api/apitype, which holds every wire type.
//
// # Authentication
//
// Every endpoint but GET /healthz and POST /api/v1/auth/login needs an
// "Authorization: Bearer <token>" header, the token coming from a login.
// POST /api/v1/auth/logout revokes the token it is sent with (204).
//
// # Long requests
//
// No request has a deadline as a whole: an upload is read as fast as
// the eMMC is written, and console and event streams last for hours.
// A request body instead fails once the client sends nothing for
// Config.BodyIdleTimeout.
package api
