package tp2

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// readPanics is a line whose Read must never be called, like a
// gpioioctl.GPIOLine used as an output.
type readPanics struct {
	*gpiotest.Pin
	fail error
}

func (p *readPanics) Read() gpio.Level { panic("Read would reconfigure the line as an input") }

func (p *readPanics) Out(l gpio.Level) error {
	if p.fail != nil {
		return p.fail
	}
	return p.Pin.Out(l)
}

func TestDrivenLine(t *testing.T) {
	tests := []struct {
		name      string
		writes    []gpio.Level
		failLast  bool
		wantLevel gpio.Level
		wantKnown bool
	}{
		{name: "never driven: unknown"},
		{name: "driven High", writes: []gpio.Level{gpio.High}, wantLevel: gpio.High, wantKnown: true},
		{name: "driven High then Low", writes: []gpio.Level{gpio.High, gpio.Low}, wantLevel: gpio.Low, wantKnown: true},
		{name: "last write failed: unknown", writes: []gpio.Level{gpio.High, gpio.Low}, failLast: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &readPanics{Pin: &gpiotest.Pin{N: "node1-en"}}
			d := &drivenLine{PinOut: p}
			for i, l := range tt.writes {
				if tt.failLast && i == len(tt.writes)-1 {
					p.fail = errBoom
					require.ErrorIs(t, d.Out(l), errBoom)
					continue
				}
				require.NoError(t, d.Out(l))
			}
			l, known := readLevel(d)
			assert.Equal(t, tt.wantKnown, known)
			assert.Equal(t, tt.wantLevel, l)
		})
	}
}

func TestPolarity(t *testing.T) {
	tests := []struct {
		asserted, activeLow bool
		level               gpio.Level
	}{
		{true, false, gpio.High},
		{false, false, gpio.Low},
		{true, true, gpio.Low},
		{false, true, gpio.High},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.level, assertLevel(tt.asserted, tt.activeLow))
		assert.Equal(t, tt.asserted, isAsserted(tt.level, tt.activeLow))
	}
}

// The lines bmcd only drives are typed without Read, so no code can read
// one in place by mistake (on a kernel line that reconfigures it as an
// input; on nodeN-en that switches the node off).
func TestDrivenLinesHaveNoRead(t *testing.T) {
	lines := reflect.TypeFor[Lines]()
	for i := range lines.NumField() {
		f := lines.Field(i)
		typ := f.Type
		if typ.Kind() == reflect.Array {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Interface || typ.Implements(reflect.TypeFor[Regulator]()) {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			_, hasRead := typ.MethodByName("Read")
			assert.False(t, hasRead, "Lines.%s is a %v, which has Read", f.Name, typ)
		})
	}
	pin, ok := reflect.TypeFor[GPIORegulator]().FieldByName("Pin")
	require.True(t, ok)
	_, hasRead := pin.Type.MethodByName("Read")
	assert.False(t, hasRead, "GPIORegulator.Pin is a %v, which has Read", pin.Type)
}

// A line that does not know the level it drives reads as unknown: its
// pin is never read.
func TestReadLevelNeverReadsThePin(t *testing.T) {
	p := &readPanics{Pin: &gpiotest.Pin{N: "node1-en", L: gpio.High}}
	l, known := readLevel(p)
	assert.False(t, known)
	assert.Equal(t, gpio.Low, l)
}
