package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// region is one counted region the plugin reported.
type region struct {
	index   int
	insns   uint64
	threads int
}

// errLost says that the plugin met more threads than it has counters:
// the counts are incomplete.
var errLost = errors.New("the plugin lost instructions of threads beyond its table")

// parseLog reads the plugin's lines from QEMU's log, in order:
//
//	insncount: region <n> insns <count> threads <k> lost <m>
//
// Other lines are QEMU's or the guest's and are skipped; a malformed
// insncount line, a region out of sequence or lost instructions are
// errors.
func parseLog(r io.Reader) ([]region, error) {
	var out []region
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		rest, ok := strings.CutPrefix(text, "insncount: ")
		if !ok {
			continue
		}
		g, err := parseRegion(rest)
		if err != nil {
			return nil, fmt.Errorf("log line %d %q: %w", line, text, err)
		}
		if g.index != len(out) {
			return nil, fmt.Errorf("log line %d: region %d, want %d", line, g.index, len(out))
		}
		out = append(out, g)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	return out, nil
}

// parseRegion parses "region <n> insns <count> threads <k> lost <m>".
func parseRegion(s string) (region, error) {
	f := strings.Fields(s)
	if len(f) != 8 || f[0] != "region" || f[2] != "insns" || f[4] != "threads" || f[6] != "lost" {
		if len(f) > 0 && f[0] != "region" {
			return region{}, fmt.Errorf("plugin error: %s", s)
		}
		return region{}, errors.New("want region <n> insns <count> threads <k> lost <m>")
	}
	var g region
	var err error
	nums := []*uint64{new(uint64), &g.insns, new(uint64), new(uint64)}
	for i, field := range []string{f[1], f[3], f[5], f[7]} {
		if *nums[i], err = strconv.ParseUint(field, 10, 64); err != nil {
			return region{}, fmt.Errorf("field %d: %w", 2*i+2, err)
		}
	}
	if *nums[0] > 1<<30 || *nums[2] > 1<<30 {
		return region{}, errors.New("region or thread number out of range")
	}
	g.index, g.threads = int(*nums[0]), int(*nums[2])
	if lost := *nums[3]; lost != 0 {
		return region{}, fmt.Errorf("%w: %d instructions", errLost, lost)
	}
	return g, nil
}
