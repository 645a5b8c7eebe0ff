// Package client is the Go client of bmcd's REST API v1. bmcctl is built
// on it, and any Go program that manages a Turing Pi board can use it.
//
//	c := client.New("http://turingpi.local")
//	if _, err := c.Login(ctx, "admin", password); err != nil {
//		return err
//	}
//	slot, err := c.Power(ctx, 3, apitype.PowerRequest{Action: "on"})
//
// Errors are meant to be shown to a person as they are:
//
//   - An error answered by bmcd is an *APIError whose Error method returns
//     the server's own sentence (e.g. "slot 9: no such slot (board has
//     slots 1-4)"); its Status and Code let a program branch on it, and
//     IsUnauthorized tells when a (new) login is needed.
//   - When bmcd cannot be reached, the error names the address tried:
//     "cannot reach bmcd at http://10.0.0.5:8080: connection refused". It
//     wraps the network error, so errors.Is(err, syscall.ECONNREFUSED) holds.
//   - Anything else (an answer that is not what the API promises) is
//     wrapped with the operation, e.g. "get slot 3: decode answer: ...".
//
// Events follows the Server-Sent Events stream; ParseSSE is its parser,
// usable on its own for any text/event-stream.
package client
