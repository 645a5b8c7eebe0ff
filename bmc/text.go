package bmc

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Length limits of user-provided text, in bytes.
const (
	// MaxNameLen bounds slot names and module types, which appear in
	// every listing.
	MaxNameLen = 64
	// MaxImageNameLen bounds the name of an uploaded image (a file name).
	MaxImageNameLen = 255
	// MaxURLLen bounds an image URL, which is also the image's name.
	MaxURLLen = 2048
)

// CheckText checks a user-provided name or label: at most max bytes of
// UTF-8 without control characters (NUL, escape sequences, line breaks)
// or the Unicode marks that reorder text on a terminal. field names the
// value in the error, which wraps ErrInvalid.
func CheckText(field, s string, max int) error {
	if len(s) > max {
		return invalidf("%s is longer than %d bytes", field, max)
	}
	if !utf8.ValidString(s) {
		return invalidf("%s is not valid UTF-8", field)
	}
	for i, r := range s {
		if unicode.IsControl(r) || isLayoutMark(r) {
			return invalidf("%s has a control character (%U at byte %d)", field, r, i)
		}
	}
	return nil
}

// isLayoutMark reports the line and paragraph separators and the
// bidirectional overrides and isolates, which can make a name print as
// something else.
func isLayoutMark(r rune) bool {
	return r == '\u2028' || r == '\u2029' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// invalidError is a value bmc refuses. Its message says what is wrong,
// without the sentinel's words; errors.Is matches ErrInvalid.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}
