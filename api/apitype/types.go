package apitype

import "time"

// BoardInfo is the body of GET /api/v1/board.
type BoardInfo struct {
	Profile string `json:"profile"`
	Model   string `json:"model"`
	Slots   int    `json:"slots"`
	// Capabilities lists what the board can do beyond power:
	// "reset", "usb-boot", "usb-route", "presence", "save-power-defaults".
	Capabilities []string `json:"capabilities"`
	Version      string   `json:"version"`
	// Warnings are problems found at start that an operator should see,
	// such as a corrupt state file that was replaced by defaults.
	Warnings []string `json:"warnings,omitempty"`
}

// Slot is one compute-module slot, as in GET /api/v1/slots/{n}. Every
// field is always sent (none is omitempty), so that scripts see the whole
// slot; those that may be unknown are null.
type Slot struct {
	Slot   int    `json:"slot"`
	Name   string `json:"name"`
	Module string `json:"module"`
	// Power is measured on the hardware: "on", "off" or "unknown".
	Power string `json:"power"`
	// Present is null where the board cannot sense a module.
	Present *bool `json:"present"`
	// Policy is the power-restore policy: "always-off", "always-on" or "last-state".
	Policy string `json:"policy"`
	// Requested is the last power state a user asked for ("on", "off" or "").
	Requested string `json:"requested"`
	// Self marks the slot the daemon itself runs on (Turing Pi 1).
	Self bool `json:"self"`
	// Busy is set while an operation holds the slot.
	Busy bool `json:"busy"`
	// PowerChangedAt is when bmcd last saw the power change; null if it
	// has not seen one.
	PowerChangedAt *time.Time `json:"power_changed_at"`
	// Warning is set while bmcd cannot save the requested power states
	// (a full disk): the power change was made, but a restart would
	// restore from an older request.
	Warning string `json:"warning,omitempty"`
}

// PowerRequest is the body of POST /api/v1/slots/{n}/power and POST /api/v1/power.
type PowerRequest struct {
	// Action is "on", "off", "reset" or "cycle".
	Action string `json:"action"`
	// Force allows switching off the slot bmcd runs on.
	Force bool `json:"force,omitempty"`
}

// SlotPatch is the body of PATCH /api/v1/slots/{n}. Absent fields are unchanged.
type SlotPatch struct {
	Name   *string `json:"name,omitempty"`
	Module *string `json:"module,omitempty"`
	Policy *string `json:"policy,omitempty"`
}

// LoginRequest is the body of POST /api/v1/auth/login.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// LoginResponse is returned by a successful login.
type LoginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Event is one message of the GET /api/v1/events Server-Sent Events stream.
// The SSE "event:" field carries Type, "id:" carries ID and "data:" the JSON
// encoding of the whole Event.
type Event struct {
	ID   uint64    `json:"id"`
	Time time.Time `json:"time"`
	// Type is "power" (measured power changed), "slot" (name, policy
	// changed) or "job" (a flash job changed state or made progress).
	Type string `json:"type"`
	Slot *Slot  `json:"slot,omitempty"`
	Job  *Job   `json:"job,omitempty"`
}

// FlashURLRequest is the JSON body of POST /api/v1/slots/{n}/flash for an
// image the daemon downloads itself.
type FlashURLRequest struct {
	URL     string `json:"url"`
	SHA256  string `json:"sha256,omitempty"`
	Verify  *bool  `json:"verify,omitempty"` // default true
	PowerOn bool   `json:"power_on,omitempty"`
}

// Job is a flash job, as in GET /api/v1/jobs/{id}.
type Job struct {
	ID    int64  `json:"id"`
	Slot  int    `json:"slot"`
	Image string `json:"image"`
	// State is queued, running, succeeded, failed, cancelled or interrupted.
	State        string      `json:"state"`
	Step         string      `json:"step,omitempty"`
	Error        string      `json:"error,omitempty"`
	CleanupError string      `json:"cleanup_error,omitempty"`
	PowerOn      bool        `json:"power_on"`
	Progress     JobProgress `json:"progress"`
	Created      time.Time   `json:"created"`
	Started      *time.Time  `json:"started,omitempty"`
	Finished     *time.Time  `json:"finished,omitempty"`
}

// JobProgress is how far a job's write has got.
type JobProgress struct {
	Phase        string `json:"phase,omitempty"`
	BytesIn      int64  `json:"bytes_in"`
	BytesWritten int64  `json:"bytes_written"`
	// BytesVerified is how much was read back while verifying.
	BytesVerified int64 `json:"bytes_verified"`
	// Total is the current phase's work, -1 if unknown: the source size
	// while writing (compare BytesIn), the bytes to read back while
	// verifying (compare BytesVerified).
	Total      int64   `json:"total"`
	Rate       float64 `json:"rate"` // bytes per second
	ETASeconds float64 `json:"eta_seconds"`
}

// ErrorBody is the body of every error response: {"error":{"code":..,"message":..}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong, as a stable code and a sentence.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes, with the HTTP status each is sent with.
const (
	CodeBadRequest       = "bad_request"        // 400
	CodeUnauthorized     = "unauthorized"       // 401
	CodeForbidden        = "forbidden"          // 403: a WebSocket from another site's page
	CodeNotFound         = "not_found"          // 404
	CodeBusy             = "busy"               // 409
	CodeSelfSlot         = "self_slot"          // 409: switching off the slot bmcd runs on needs force
	CodeSlotOff          = "slot_off"           // 409: the action needs the slot on (reset)
	CodeNotFlashable     = "not_flashable"      // 409: the board cannot flash this slot
	CodeMethodNotAllowed = "method_not_allowed" // 405
	CodeTooLarge         = "too_large"          // 413
	CodeRateLimited      = "rate_limited"       // 429
	CodeNotSupported     = "not_supported"      // 501
	CodeInternal         = "internal"           // 500
)
