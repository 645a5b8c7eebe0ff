package console

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSerialModeCoversNames: every parity and stop-bits name a Mode
// accepts has its go.bug.st/serial value, so a valid mode never reaches
// the port as the zero value (no parity, one stop bit) by mistake.
func TestSerialModeCoversNames(t *testing.T) {
	t.Parallel()
	for name := range parities {
		_, ok := serialParities[name]
		assert.True(t, ok, "parity %q has no go.bug.st/serial value", name)
	}
	for name := range stopBits {
		_, ok := serialStopBits[name]
		assert.True(t, ok, "stop bits %q have no go.bug.st/serial value", name)
	}
	assert.Len(t, serialParities, len(parities))
	assert.Len(t, serialStopBits, len(stopBits))
}
