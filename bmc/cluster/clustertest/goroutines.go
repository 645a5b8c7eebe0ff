package clustertest

import (
	"runtime"
	"strings"
)

// Goroutines returns the stacks of the live goroutines that mention s.
func Goroutines(s string) []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, s) {
			out = append(out, g)
		}
	}
	return out
}
