package tp2

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"

	"github.com/turingpi-oss/bmcd/hal"
)

func TestSetUSBBoot(t *testing.T) {
	tests := []struct {
		name      string
		v25       bool
		activeLow bool
		asserted  bool
		want      string
	}{
		{"v2.4 raw pins assert", false, true, true, "node3-rpiboot=Low"},
		{"v2.4 raw pins release", false, true, false, "node3-rpiboot=High"},
		{"v2.4 named lines assert", false, false, true, "node3-rpiboot=High"},
		{"v2.4 named lines release", false, false, false, "node3-rpiboot=Low"},
		{"v2.5 raw pins assert", true, true, true, "node3-rpiboot=Low"},
		{"v2.5 named lines assert", true, false, true, "node3-rpiboot=High"},
		{"v2.5 named lines release", true, false, false, "node3-rpiboot=Low"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.activeLow)
			var b hal.USBBootStrapper = r.v24(t)
			if tt.v25 {
				b = r.v25(t, false)
			}
			require.NoError(t, b.SetUSBBoot(context.Background(), 3, tt.asserted))
			assert.Equal(t, []string{tt.want}, r.log.take())
		})
	}
}

func TestSetUSBV24(t *testing.T) {
	// [usb-sel1, usb-oe1, usb-sel2, usb-oe2] per slot, from bmc.c's g_usb_node.
	mux := map[int][4]string{
		1: {"Low", "Low", "High", "High"},
		2: {"High", "Low", "High", "High"},
		3: {"High", "High", "Low", "Low"},
		4: {"High", "High", "High", "Low"},
	}
	for slot := 1; slot <= Slots; slot++ {
		for _, role := range []hal.USBRole{hal.USBDevice, hal.USBHost} {
			for _, route := range []hal.USBRoute{hal.RouteConnector, hal.RouteBMC} {
				t.Run(fmt.Sprintf("slot %d %s %s", slot, role, route), func(t *testing.T) {
					vbus := role == hal.USBHost && route == hal.RouteConnector
					var want []string
					if !vbus {
						want = append(want, "usb-vbus=High") // off
					}
					m := mux[slot]
					want = append(want, "usb-sel1="+m[0], "usb-oe1="+m[1], "usb-sel2="+m[2], "usb-oe2="+m[3])
					for n := 1; n <= Slots; n++ {
						l := "High" // device
						if role == hal.USBHost && n == slot {
							l = "Low"
						}
						want = append(want, fmt.Sprintf("node%d-usbotg-dev=%s", n, l))
					}
					if route == hal.RouteBMC {
						want = append(want, "usb-switch=High")
					} else {
						want = append(want, "usb-switch=Low")
					}
					if vbus {
						want = append(want, "usb-vbus=Low") // on
					}

					r := newRig(t, true)
					b := r.v24(t)
					require.NoError(t, b.SetUSB(context.Background(), hal.USBConfig{Slot: slot, Role: role, Route: route}))
					assert.Equal(t, want, r.log.take())
				})
			}
		}
	}

	t.Run("a failing line switches VBUS off", func(t *testing.T) {
		r := newRig(t, true)
		b := r.v24(t)
		r.pins["usb-switch"].fail = func(gpio.Level) error { return errBoom }
		err := b.SetUSB(context.Background(), hal.USBConfig{Slot: 2, Role: hal.USBHost, Route: hal.RouteConnector})
		assert.EqualError(t, err, "tp2: slot 2 usb host/connector: set usb-switch: boom")
		got := r.log.take()
		assert.Equal(t, []string{"usb-switch=Low failed", "usb-vbus=High"}, got[len(got)-2:])
	})
}

func TestSetUSBV25(t *testing.T) {
	tests := []struct {
		name    string
		cfg     hal.USBConfig
		want    []string
		wantErr error
	}{
		{"device on the connector", hal.USBConfig{Slot: 2, Role: hal.USBDevice, Route: hal.RouteConnector}, []string{"usb-switch=Low"}, nil},
		{"device on the BMC", hal.USBConfig{Slot: 4, Role: hal.USBDevice, Route: hal.RouteBMC}, []string{"usb-switch=High"}, nil},
		{"host on the connector", hal.USBConfig{Slot: 1, Role: hal.USBHost, Route: hal.RouteConnector}, nil, hal.ErrNotSupported},
		{"host on the BMC", hal.USBConfig{Slot: 3, Role: hal.USBHost, Route: hal.RouteBMC}, nil, hal.ErrNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, false)
			err := r.v25(t, false).SetUSB(context.Background(), tt.cfg)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				assert.NoError(t, err)
			}
			assert.Equal(t, tt.want, r.log.take())
		})
	}
}

func TestSetUSBInvalid(t *testing.T) {
	tests := []struct {
		name    string
		cfg     hal.USBConfig
		wantErr string
	}{
		{"role", hal.USBConfig{Slot: 1, Role: 7}, "tp2: slot 1 usb: invalid role 7"},
		{"route", hal.USBConfig{Slot: 1, Route: 9}, "tp2: slot 1 usb: invalid route 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, true)
			for _, b := range []hal.USBRouter{r.v24(t), r.v25(t, false)} {
				assert.EqualError(t, b.SetUSB(context.Background(), tt.cfg), tt.wantErr)
			}
			assert.Empty(t, r.log.take())
		})
	}
}
