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
					// The USB-A port is powered whenever the USB goes to
					// it (vendor pin_controller.rs, set_usb_route).
					vbus := route == hal.RouteConnector
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

// At start-up every USB line is driven to the vendor's default (UsbA(Node1)
// and, on v2.5, node1_usb false) and every USB boot strap released, as the
// Rust bmcd's initialize_usb_mode does; no slot's power or enable is
// touched.
func TestSetUSBDefaults(t *testing.T) {
	straps := func(level string) []string {
		var s []string
		for n := 1; n <= Slots; n++ {
			s = append(s, fmt.Sprintf("node%d-rpiboot=%s", n, level))
		}
		return s
	}
	v24 := []string{
		"usb-sel1=Low", "usb-oe1=Low", "usb-sel2=High", "usb-oe2=High", // slot 1
		"node1-usbotg-dev=High", "node2-usbotg-dev=High", "node3-usbotg-dev=High", "node4-usbotg-dev=High",
		"usb-switch=Low", // connector
		"usb-vbus=Low",   // USB-A port powered
	}
	v25 := []string{"node1-usb-output=Low", "node1-usb-source=Low", "usb-switch=Low"}
	tests := []struct {
		name      string
		v25       bool
		activeLow bool
		want      []string
	}{
		{"v2.4, named lines", false, false, append(v24, straps("Low")...)},
		{"v2.4, raw pins", false, true, append(v24, straps("High")...)},
		{"v2.5, named lines", true, false, append(v25, straps("Low")...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.activeLow)
			var b interface{ SetUSBDefaults(context.Context) error } = r.v24(t)
			if tt.v25 {
				b = r.v25(t, false)
			}
			require.NoError(t, b.SetUSBDefaults(context.Background()))
			assert.Equal(t, tt.want, r.log.take())
		})
	}

	t.Run("cancelled: nothing written", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := newRig(t, false)
		assert.ErrorIs(t, r.v24(t).SetUSBDefaults(ctx), context.Canceled)
		assert.ErrorIs(t, r.v25(t, false).SetUSBDefaults(ctx), context.Canceled)
		assert.Empty(t, r.log.take())
	})
}
