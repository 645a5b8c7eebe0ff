package tp2

import (
	"context"
	"errors"
	"fmt"

	"periph.io/x/conn/v3/gpio"

	"github.com/turingpi-oss/bmcd/hal"
)

// muxCode returns the levels of [USB_SEL1, USB_OE1, USB_SEL2, USB_OE2]
// that connect the v2.4 multiplexer to slot (g_usb_node in the C
// firmware's bmc.c; the same codes as the Rust bmcd's UsbMuxSwitch).
func muxCode(slot int) [4]gpio.Level {
	const L, H = gpio.Low, gpio.High
	return [Slots][4]gpio.Level{
		{L, L, H, H},
		{H, L, H, H},
		{H, H, L, L},
		{H, H, H, L},
	}[slot-1]
}

func routeLevel(r hal.USBRoute) gpio.Level {
	return r == hal.RouteBMC
}

func (b *board) checkUSB(cfg hal.USBConfig) error {
	if err := b.checkSlot("usb", cfg.Slot); err != nil {
		return err
	}
	if cfg.Role != hal.USBDevice && cfg.Role != hal.USBHost {
		return fmt.Errorf("tp2: slot %d usb: invalid role %d", cfg.Slot, cfg.Role)
	}
	if cfg.Route != hal.RouteConnector && cfg.Route != hal.RouteBMC {
		return fmt.Errorf("tp2: slot %d usb: invalid route %d", cfg.Slot, cfg.Route)
	}
	return nil
}

// SetUSB implements hal.USBRouter on v2.4. It drives the multiplexer to
// the slot, the four nodeN-usbotg-dev lines (host: the slot's Low and the
// others High; device: all High, as the Rust bmcd does), and USB_SWITCH.
// The USB-A port's VBUS is on while the USB is routed to the connector,
// whatever the role, and off while it is routed to the BMC, as the Rust
// bmcd's UsbMuxSwitch.set_usb_route does (pin_controller.rs: usb-port-power
// "enabled" with USB_SWITCH 0, "disabled" with 1). Routed to the BMC, VBUS
// is switched off before the lines change; routed to the connector it is
// switched on after them, so the port is never powered while half routed.
// If a line fails on the way to the connector VBUS is switched off.
func (b *BoardV24) SetUSB(ctx context.Context, cfg hal.USBConfig) error {
	if err := b.checkUSB(cfg); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tp2: slot %d usb: %w", cfg.Slot, err)
	}
	b.usbMu.Lock()
	defer b.usbMu.Unlock()
	if err := b.setUSB(ctx, cfg); err != nil {
		if cfg.Route == hal.RouteConnector {
			if verr := b.lines.USBVBUS.SetEnabled(context.WithoutCancel(ctx), false); verr != nil {
				b.log.Warn("tp2: usb: switching the USB-A port's VBUS off failed", "err", verr)
			}
		}
		return fmt.Errorf("tp2: slot %d usb %s/%s: %w", cfg.Slot, cfg.Role, cfg.Route, err)
	}
	b.log.Info("tp2: usb", "slot", cfg.Slot, "role", cfg.Role, "route", cfg.Route)
	return nil
}

func (b *BoardV24) setUSB(ctx context.Context, cfg hal.USBConfig) error {
	l := &b.lines
	vbus := cfg.Route == hal.RouteConnector
	if !vbus {
		if err := l.USBVBUS.SetEnabled(ctx, false); err != nil {
			return fmt.Errorf("switch %s off: %w", vbusName, err)
		}
	}
	code := muxCode(cfg.Slot)
	for i, p := range []struct {
		name string
		pin  gpio.PinOut
	}{{"usb-sel1", l.USBSel1}, {"usb-oe1", l.USBOE1}, {"usb-sel2", l.USBSel2}, {"usb-oe2", l.USBOE2}} {
		if err := b.out(p.pin, p.name, code[i]); err != nil {
			return err
		}
	}
	for i, p := range l.USBOTGDev {
		device := cfg.Role == hal.USBDevice || i+1 != cfg.Slot
		if err := b.out(p, otgName(i+1), gpio.Level(device)); err != nil {
			return err
		}
	}
	if err := b.out(l.USBRoute, routeName, routeLevel(cfg.Route)); err != nil {
		return err
	}
	if vbus {
		if err := l.USBVBUS.SetEnabled(ctx, true); err != nil {
			return fmt.Errorf("switch %s on: %w", vbusName, err)
		}
	}
	return nil
}

// SetUSB implements hal.USBRouter on v2.5. Every node is a device on the
// board's USB hub (Genesys Logic 05e3:0608, port N = node N) all the time,
// so the slot needs no selecting and host role is impossible; only the
// hub's upstream moves, between the connector and the BMC (PG2).
func (b *BoardV25) SetUSB(ctx context.Context, cfg hal.USBConfig) error {
	if err := b.checkUSB(cfg); err != nil {
		return err
	}
	if cfg.Role == hal.USBHost {
		return fmt.Errorf("tp2: slot %d usb host: the v2.5 USB hub makes every node a device: %w", cfg.Slot, hal.ErrNotSupported)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tp2: slot %d usb: %w", cfg.Slot, err)
	}
	b.usbMu.Lock()
	defer b.usbMu.Unlock()
	if err := b.out(b.lines.USBRoute, routeName, routeLevel(cfg.Route)); err != nil {
		return fmt.Errorf("tp2: slot %d usb %s/%s: %w", cfg.Slot, cfg.Role, cfg.Route, err)
	}
	b.log.Info("tp2: usb", "slot", cfg.Slot, "role", cfg.Role, "route", cfg.Route)
	return nil
}

// usbDefault is where the board's USB goes when bmcd starts, the Rust
// bmcd's default USB_CONFIG, UsbA(Node1) (bmc_application.rs): slot 1 as
// a device, on the board's connector.
func usbDefault() hal.USBConfig {
	return hal.USBConfig{Slot: 1, Role: hal.USBDevice, Route: hal.RouteConnector}
}

// SetUSBDefaults drives every USB line to usbDefault, so none is left
// floating or where a previous process left it, and releases every
// nodeN-rpiboot strap, as the Rust bmcd's initialize_usb_mode does at
// start-up (select_usb clears the straps outside flashing). Open calls it.
// It does not touch slot power.
func (b *BoardV24) SetUSBDefaults(ctx context.Context) error {
	if err := b.SetUSB(ctx, usbDefault()); err != nil {
		return err
	}
	return b.releaseStraps(ctx)
}

// SetUSBDefaults drives node 1's USB switches to the vendor's default
// (both Low, node1_usb false), the hub's upstream to the connector
// (usbDefault), and releases every nodeN-rpiboot strap, as the Rust bmcd's
// initialize_usb_mode does at start-up. Open calls it. It does not touch
// slot power.
func (b *BoardV25) SetUSBDefaults(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tp2: usb defaults: %w", err)
	}
	b.usbMu.Lock()
	err := errors.Join(
		b.out(b.lines.Node1USBOutput, node1OutName, gpio.Low),
		b.out(b.lines.Node1USBSource, node1SourceName, gpio.Low),
	)
	b.usbMu.Unlock()
	if err != nil {
		return fmt.Errorf("tp2: usb defaults: %w", err)
	}
	if err := b.SetUSB(ctx, usbDefault()); err != nil {
		return err
	}
	return b.releaseStraps(ctx)
}

// releaseStraps deasserts every nodeN-rpiboot, trying all four.
func (b *board) releaseStraps(ctx context.Context) error {
	var errs []error
	for s := 1; s <= Slots; s++ {
		errs = append(errs, b.SetUSBBoot(ctx, s, false))
	}
	return errors.Join(errs...)
}
