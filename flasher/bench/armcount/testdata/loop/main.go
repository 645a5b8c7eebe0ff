// Command loop is armcount's test guest: between the markers it runs a
// loop of exactly two instructions per iteration, so the plugin's count
// for n and 2n iterations must differ by exactly 2n.
package main

import (
	"os"
	"strconv"
)

// spin loops n times (n > 0): SUB.S and BNE.
func spin(n int32)

//go:noinline
func regionStart() {}

//go:noinline
func regionStop() {}

func main() {
	for _, arg := range os.Args[1:] {
		n, err := strconv.Atoi(arg)
		if err != nil || n <= 0 {
			os.Exit(2)
		}
		regionStart()
		spin(int32(n))
		regionStop()
	}
}
