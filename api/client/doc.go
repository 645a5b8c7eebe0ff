// Package client is a Go client of bmcd's REST API v1, used by bmcctl and
// usable by any Go program that manages a Turing Pi board.
//
// Errors from the server come back as *APIError, carrying the HTTP status
// and the API's error code and message, so callers can print the server's
// own sentence or branch on the code.
package client
