package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/hal"
)

// TestClassify pins the one place where the domain's errors become HTTP
// statuses: bmc validates, api maps bmc.ErrInvalid to 400 however deep
// it is wrapped.
func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"invalid value", fmt.Errorf("flash slot 1: %w", fmt.Errorf("sha256: %w", bmc.ErrInvalid)), http.StatusBadRequest, CodeBadRequest},
		{"image checked by the board", bmc.CheckText("image name", "a\nb", 10), http.StatusBadRequest, CodeBadRequest},
		{"no slot", fmt.Errorf("slot 9: %w", hal.ErrNoSlot), http.StatusNotFound, CodeNotFound},
		{"no job", fmt.Errorf("job 9: %w", bmc.ErrNoJob), http.StatusNotFound, CodeNotFound},
		{"busy", fmt.Errorf("power on slot 1: %w", bmc.ErrBusy), http.StatusConflict, CodeBusy},
		{"not flashable", bmc.ErrNotFlashable, http.StatusConflict, CodeNotFlashable},
		{"not supported", fmt.Errorf("flash: %w", hal.ErrNotSupported), http.StatusNotImplemented, CodeNotSupported},
		{"deadline", fmt.Errorf("power on slot 1: %w", context.DeadlineExceeded), http.StatusGatewayTimeout, CodeInternal},
		{"api's own", newError(http.StatusUnsupportedMediaType, CodeBadRequest, "x"), http.StatusUnsupportedMediaType, CodeBadRequest},
		{"anything else", errors.New("boom"), http.StatusInternalServerError, CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code := classify(tt.err)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.code, code)
		})
	}
}
