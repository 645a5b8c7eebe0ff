package console

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRing(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		writes []int // lengths of successive writes of the stream pattern
	}{
		{"empty", 8, nil},
		{"partial", 8, []int{3}},
		{"exactly full", 8, []int{8}},
		{"wrap", 8, []int{5, 5}},
		{"many small", 8, []int{1, 2, 3, 4, 5, 6, 7}},
		{"larger than ring", 8, []int{3, 21}},
		{"exact multiple", 8, []int{16, 8}},
		{"size 1", 1, []int{1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRing(tt.size)
			var stream []byte
			for _, n := range tt.writes {
				p := pattern(len(stream) + n)[len(stream):]
				r.write(p)
				stream = append(stream, p...)
			}
			assert.Equal(t, int64(len(stream)), r.end)
			wantLen := min(len(stream), tt.size)
			assert.Equal(t, wantLen, r.len())
			assert.Equal(t, int64(len(stream)-wantLen), r.oldest())
			// Every read position and length returns the right bytes.
			for off := r.oldest(); off <= r.end; off++ {
				for n := 0; n <= tt.size+1; n++ {
					dst := make([]byte, n)
					got := r.readAt(off, dst)
					want := stream[off:min(int64(len(stream)), off+int64(n))]
					if !bytes.Equal(want, dst[:got]) {
						t.Fatalf("readAt(%d, [%d]) = %x, want %x", off, n, dst[:got], want)
					}
				}
			}
		})
	}
}
