// Package apitype holds the wire types of bmcd's REST API v1: request
// and response bodies, events, console messages, error codes and the
// board check report. The server (package api) and the Go client
// (api/client) both use them, so the two cannot drift apart.
//
// It imports only the standard library, so that a client program such
// as bmcctl links none of the server: not echo, not the board, not the
// flasher.
package apitype
