package bmc

import "strings"

// joinedError is errors.Join on one line: its parts are separated by
// "; ", so a request that failed on several slots answers with one
// readable message.
type joinedError struct{ errs []error }

func (e *joinedError) Error() string {
	parts := make([]string, len(e.errs))
	for i, err := range e.errs {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

func (e *joinedError) Unwrap() []error { return e.errs }

// joinErrors joins the non-nil errors on one line; nil if there are none.
func joinErrors(errs ...error) error {
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return &joinedError{errs: out}
}
