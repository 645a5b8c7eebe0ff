package apitype

// Serial console wire types.
//
// The console of slot N is reached three ways:
//
//   - GET /api/v1/slots/{n}/console/log?tail=BYTES answers the buffered
//     history as application/octet-stream (tail <= 0 or absent: all of it).
//   - GET /api/v1/slots/{n}/console?history=BYTES&readonly=1 upgrades to a
//     WebSocket. Authorization is the usual bearer header, or for
//     browsers, which cannot set headers on a WebSocket, a ticket from
//     POST /api/v1/auth/ticket in the ticket query parameter (see
//     TicketResponse). A browser's Origin must be bmcd's own. The server first sends a text frame ConsoleMessage
//     of type "hello", then the last history bytes (absent or negative:
//     all it has; 0: none) as binary frames, then live output as binary
//     frames. Binary frames from the client (at most 64 KiB each; larger
//     ones close the session with 1009) are written to the UART, unless
//     the session is
//     read-only (readonly=1, or a role that may not write): then the
//     server closes with ConsoleCloseReadOnly. Text frames from the client
//     are ignored. The server pings every 15 s; a client that does not
//     keep up is told what it missed ("missed" messages), and one whose
//     socket stays blocked for 30 s is closed with ConsoleCloseSlow.
//   - PATCH /api/v1/slots/{n}/console with a ConsoleMode body changes
//     the line settings at run time and answers ConsoleState.
//
// GET /api/v1/slots/{n}/console without an Upgrade header answers
// ConsoleState.

// ConsoleMode is a UART's line settings. In a PATCH, zero fields are left
// as they are.
type ConsoleMode struct {
	// Baud is the bit rate, 50 to 4,000,000 (Rockchip modules: 1,500,000).
	Baud int `json:"baud,omitempty"`
	// DataBits is 5 to 8.
	DataBits int `json:"data_bits,omitempty"`
	// Parity is "none", "odd", "even", "mark" or "space".
	Parity string `json:"parity,omitempty"`
	// StopBits is "1", "1.5" or "2".
	StopBits string `json:"stop_bits,omitempty"`
}

// ConsoleState describes one slot's console.
type ConsoleState struct {
	Slot int `json:"slot"`
	// Power is the slot's measured power: "on", "off" or "unknown". A
	// slot that is off prints nothing and reads nothing sent to it.
	Power  string      `json:"power"`
	Device string      `json:"device"`
	Mode   ConsoleMode `json:"mode"`
	// Open says whether the port is open now; Error says why not.
	Open  bool   `json:"open"`
	Error string `json:"error,omitempty"`
	// Reopens counts how often the port was lost and opened again.
	Reopens int `json:"reopens"`
	// BytesRead is everything read from the port since bmcd started.
	BytesRead int64 `json:"bytes_read"`
	// Buffered is how many bytes of history are kept now.
	Buffered int `json:"buffered"`
	// Clients is the number of attached WebSocket sessions.
	Clients int `json:"clients"`
}

// Console message types, in ConsoleMessage.Type.
const (
	// ConsoleHello is the first frame: Slot, Writable, Mode, Device and
	// Power, the slot's measured power ("on", "off", "unknown"). A
	// notice follows when the slot is off.
	ConsoleHello = "hello"
	// ConsoleMissed says Bytes of output were lost to a slow reader.
	ConsoleMissed = "missed"
	// ConsoleNotice is a line about the port (lost, reopened, mode changed).
	ConsoleNotice = "notice"
)

// ConsoleMessage is a text frame on the console WebSocket.
type ConsoleMessage struct {
	Type     string       `json:"type"`
	Slot     int          `json:"slot,omitempty"`
	Device   string       `json:"device,omitempty"`
	Writable bool         `json:"writable,omitempty"`
	Mode     *ConsoleMode `json:"mode,omitempty"`
	Power    string       `json:"power,omitempty"`
	Bytes    int64        `json:"bytes,omitempty"`
	Message  string       `json:"message,omitempty"`
}

// WebSocket close codes the console uses besides the standard ones.
const (
	// ConsoleCloseReadOnly: the client wrote on a read-only session.
	ConsoleCloseReadOnly = 4001
	// ConsoleCloseSlow: the client did not read for too long.
	ConsoleCloseSlow = 4002
	// ConsoleCloseGone: the console was shut down (bmcd stopping).
	ConsoleCloseGone = 4003
)
