// Package usb is the narrow USB host interface the flasher needs: list
// the devices on the bus, open one, claim an interface, and do control and
// bulk-out transfers with timeouts. That is all the Raspberry Pi USB boot
// protocol uses.
//
// Implementations: hal/usb/usbfs talks to Linux usbfs (/dev/bus/usb) in
// pure Go; hal/usb/usbsim simulates compute modules in USB boot mode for
// tests and the simulated board.
//
// Errors are classified with the sentinels below, so protocol code can
// tell a vanished device from a stall or a timeout whatever the backend.
package usb
