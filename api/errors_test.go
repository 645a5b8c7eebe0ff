package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/bmc"
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
		{"invalid value", fmt.Errorf("flash slot 1: %w", fmt.Errorf("sha256: %w", bmc.ErrInvalid)), http.StatusBadRequest, apitype.CodeBadRequest},
		{"image checked by the board", bmc.CheckText("image name", "a\nb", 10), http.StatusBadRequest, apitype.CodeBadRequest},
		{"no slot", fmt.Errorf("slot 9: %w", bmc.ErrNoSlot), http.StatusNotFound, apitype.CodeNotFound},
		{"no job", fmt.Errorf("job 9: %w", bmc.ErrNoJob), http.StatusNotFound, apitype.CodeNotFound},
		{"busy", fmt.Errorf("power on slot 1: %w", bmc.ErrBusy), http.StatusConflict, apitype.CodeBusy},
		{"not flashable", bmc.ErrNotFlashable, http.StatusConflict, apitype.CodeNotFlashable},
		{"not supported", fmt.Errorf("flash: %w", bmc.ErrNotSupported), http.StatusNotImplemented, apitype.CodeNotSupported},
		{"deadline", fmt.Errorf("power on slot 1: %w", context.DeadlineExceeded), http.StatusGatewayTimeout, apitype.CodeInternal},
		{"api's own", newError(http.StatusUnsupportedMediaType, apitype.CodeBadRequest, "x"), http.StatusUnsupportedMediaType, apitype.CodeBadRequest},
		{"anything else", errors.New("boom"), http.StatusInternalServerError, apitype.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code := classify(tt.err)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.code, code)
		})
	}
}
