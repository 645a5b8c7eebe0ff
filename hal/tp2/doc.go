// Package tp2 is the Turing Pi 2 board: profile "tp2-v2.4" for the v2.4
// board, and "tp2-v2.5" for v2.5 and v2.5.1, which differ only in which
// latch output feeds slots 2 and 3, something the kernel's nodeN-power
// regulators hide. Both switch slot power, read it back and drive the USB
// boot strap and the USB routing over GPIO lines and kernel regulators.
// Neither is a hal.Resetter, so the domain layer power cycles a slot to
// reset it: v2.5 has no reset lines, and the v2.4 device tree names
// nodeN-rst lines that are not connected on the board (the vendor's bmcd
// power cycles since commit 71c0126 for that reason); bmcd never requests
// them.
//
// [NewV24] and [NewV25] take the lines as values ([Lines]), so tests run
// on fake pins; [Open] finds the real ones on the running kernel.
//
// # Line map
//
// From the device trees sun8i-t113s-turing-pi2-v2.4.dts and -v2.5.dts of
// turing-machines/BMC-Firmware, and the v1 C firmware (app/bmc/bmc.c
// @v1.0.2). "Asserted" is the pin level that does the named thing.
//
//	v2.4         slot 1  slot 2  slot 3  slot 4  asserted
//	nodeN-en     PD11    PD10    PD9     PD8     Low: node enabled
//	nodeN-rst    PD0     PD20    PD21    PD22    not connected: unused
//	nodeN-rpiboot PD15   PD14    PD12    PD13    Low: boot from USB
//	nodeN-usbotg-dev PD19 PD18   PD17    PD16    High: USB device, Low: host
//	nodeN-power  PD7     PD6     PD5     PD4     High: 5 V regulator on
//	atx-psu      PD3 (High: on), the supply of the four slot regulators
//	USB mux      USB_SEL1 PG1, USB_OE1 PG2, USB_SEL2 PG0, USB_OE2 PG3
//	             [SEL1,OE1,SEL2,OE2]: slot 1 0011, 2 1011, 3 1100, 4 1110
//	USB_SWITCH   PG5: Low connector, High BMC
//	USB-A VBUS   PG4, Low: on (usb-port-power); on while routed to the
//	             connector, off while routed to the BMC (the Rust bmcd's
//	             pin_controller.rs, set_usb_route)
//
//	v2.5         slot 1  slot 2  slot 3  slot 4
//	nodeN-en     latch 8 latch 7 latch 6 latch 5  (Low: node enabled)
//	nodeN-rpiboot PD15   PD14    PD12    PD13     (Low: boot from USB)
//	nodeN-power  latch 4 latch 2 latch 3 latch 1  (v2.5.1: 3 and 2)
//	atx-psu      latch 0, the supply of the four slot regulators
//	node1-usbotg-dev PD19 (in the device tree; never driven, by the
//	             vendor's bmcd either)
//	USB          hub 05e3:0608, port N = node N, always a device
//	USB route    PG2: Low connector, High BMC
//	node 1 USB   output switch PG0, source switch PG1: both Low (the
//	             vendor's default) or both High (its "alternative port")
//
// The latch is a gpio-latch on PD3..PD11 clocked by PD20. Mainline's
// gpio-latch cannot be read, but the vendor's kernel patches it
// (BMC-Firmware tp2bmc/patches/linux/0001-regulator-fixed-perserve-boot-
// state.patch) to keep its state in a shadow word at physical 0x0709010C,
// which survives a warm reboot of the controller and which its get reads
// back; its direction_output ignores the initial value (see reqLine).
//
// # Start-up
//
// [Open] drives the USB lines to the vendor's start-up default (slot 1 as
// a device on the connector; on v2.5 node 1's switches Low) and releases
// every USB boot strap, as the Rust bmcd's initialize_usb_mode does
// (bmc_application.rs). It never touches slot power or nodeN-en: lines are
// requested on their first write already at that level, and SetPower
// leaves a slot that reads on alone, so nodes left running by a previous
// bmcd see no glitch.
//
// # Polarity
//
// The kernel names the node lines through a "turing,pi2-nodes"
// gpio-aggregator whose gpios carry GPIO_ACTIVE_LOW for en and
// rpiboot, so its lines are logical: writing High to node1-en drives PD11
// Low and enables node 1 (the Rust bmcd writes 1 to enable). [Lines]
// ActiveLow says which kind of line the board is given: false for the
// kernel's named lines, which is what Open uses, true for raw pins. The
// mux, route, VBUS, node 1 switch and nodeN-usbotg-dev lines are never
// inverted.
//
// # Power
//
// See [BoardV24.SetPower] for the sequences. The ATX PSU is on while any
// slot regulator is on and off when none is; that decision reads the
// regulators back under a lock rather than counting, so slots powered
// concurrently never switch the PSU off under one another. Where the
// kernel manages the PSU (Lines.PSU nil, both device trees) it does the
// same through the regulators' supply. [BoardV24.PowerState] reads the
// regulator and nodeN-en back, never a stored intent. Power on of a slot
// that reads on writes nothing.
package tp2
