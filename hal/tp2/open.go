package tp2

import (
	"fmt"
	"strings"
)

// revision parses a board revision as Open takes it: "2.4", "v2.4" or the
// profile "tp2-v2.4"; likewise 2.5, 2.5.1 and 2.5.2 (which the firmware
// runs on the v2.5.1 device tree). It reports whether the board is a v2.4.
func revision(rev string) (v24 bool, err error) {
	r := strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(rev), "tp2-"), "v")
	switch r {
	case "2.4":
		return true, nil
	case "2.5", "2.5.1", "2.5.2":
		return false, nil
	}
	return false, fmt.Errorf("tp2: unknown board revision %q (want v2.4, v2.5 or v2.5.1)", rev)
}

// pinOffset returns the line offset of an Allwinner pin such as "PG1" on
// the SoC's pin controller: bank*32 + pin, PA being bank 0 (PG1 = 193).
func pinOffset(pin string) (int, error) {
	var bank byte
	var n int
	if _, err := fmt.Sscanf(pin, "P%c%d", &bank, &n); err != nil || bank < 'A' || bank > 'Z' || n < 0 || n >= 32 {
		return 0, fmt.Errorf("bad pin name %q", pin)
	}
	return int(bank-'A')*32 + n, nil
}
