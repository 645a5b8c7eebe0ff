package bmc

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestProcsLend(t *testing.T) {
	current := 2
	var calls []int
	set := func(n int) int {
		prev := current
		if n > 0 {
			current = n
			calls = append(calls, n)
		}
		return prev
	}
	p := newProcs(set)
	first := p.Lend(4)
	second := p.Lend(4)
	assert.Equal(t, 10, current, "two flashes")
	first()
	first() // a second call gives nothing back twice
	assert.Equal(t, 6, current, "one flash left")
	second()
	assert.Equal(t, 2, current, "none: back to the start")
	assert.Equal(t, []int{6, 10, 6, 2}, calls)
}
