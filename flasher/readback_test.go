package flasher

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sumsOf feeds data, which sits at offset off, to a fresh blockSums in
// pieces of the given sizes (the rest in one piece) and returns the sums.
func sumsOf(off int64, data []byte, pieces ...int) []blockSum {
	s := newBlockSums()
	for _, n := range pieces {
		n = min(n, len(data))
		s.add(off, data[:n])
		off, data = off+int64(n), data[n:]
	}
	s.add(off, data)
	s.close()
	return s.sums
}

func TestBlockSums(t *testing.T) {
	t.Parallel()
	data := make([]byte, 3*verifyBlock+123)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	whole := sumsOf(0, data)
	require.Len(t, whole, 4, "three whole blocks and a partial one")
	for i, s := range whole {
		assert.Equal(t, int64(i), s.block)
	}

	tests := []struct {
		name   string
		pieces []int
	}{
		{"bytes across a block boundary", []int{verifyBlock - 1, 2}},
		{"block by block", []int{verifyBlock, verifyBlock, verifyBlock}},
		{"buffer-sized pieces", []int{4 << 20}},
		{"odd pieces", []int{1, 4095, 777, verifyBlock + 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, whole, sumsOf(0, data, tt.pieces...), "the sums do not depend on how the bytes are cut")
		})
	}

	t.Run("offset in the middle of a block", func(t *testing.T) {
		sums := sumsOf(verifyBlock/2, data[:verifyBlock])
		require.Len(t, sums, 2)
		assert.Equal(t, []int64{0, 1}, []int64{sums[0].block, sums[1].block})
	})
	t.Run("add reports the blocks it closed", func(t *testing.T) {
		s := newBlockSums()
		assert.Equal(t, 0, s.add(0, data[:10]))
		assert.Equal(t, 0, s.add(10, data[10:verifyBlock]))
		assert.Equal(t, 3, s.add(verifyBlock, data[verifyBlock:3*verifyBlock+1]), "blocks 0, 1 and 2; 3 stays open")
		assert.True(t, s.close())
		assert.False(t, s.close(), "nothing open")
		assert.Len(t, s.sums, 4)
	})
}

func TestCompare(t *testing.T) {
	t.Parallel()
	data := make([]byte, 3*verifyBlock)
	for i := range data {
		data[i] = byte(i * 7)
	}
	written := sumsOf(0, data)
	flipped := func(at int) []blockSum {
		d := append([]byte(nil), data...)
		d[at] ^= 0x80
		return sumsOf(0, d)
	}

	next, err := compare(written, 0, written[:2])
	require.NoError(t, err)
	assert.Equal(t, 2, next)
	next, err = compare(written, next, written[2:])
	require.NoError(t, err)
	assert.Equal(t, 3, next)

	tests := []struct {
		name string
		read []blockSum
		from int
		want string
	}{
		{"first byte", flipped(0), 0, "first in the 1048576-byte block at offset 0"},
		{"last byte", flipped(len(data) - 1), 0, "first in the 1048576-byte block at offset 2097152"},
		{"later block, checked from there", flipped(2*verifyBlock + 5)[2:], 2, "block at offset 2097152"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compare(written, tt.from, tt.read)
			require.ErrorIs(t, err, ErrVerify)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	t.Run("a block that was not written next", func(t *testing.T) {
		_, err := compare(written, 1, written[2:])
		require.Error(t, err)
		assert.False(t, errors.Is(err, ErrVerify), "a bug, not the disk: %v", err)
		_, err = compare(written, 3, written[:1])
		require.Error(t, err, "more blocks read than written")
	})
}

// FuzzBlockSums: however the bytes are cut into pieces, the sums are the
// same, and a flipped byte shows in its block's sum and no other.
func FuzzBlockSums(f *testing.F) {
	f.Add(uint64(1), uint16(100), uint32(5000), uint32(70000))
	f.Add(uint64(2), uint16(0), uint32(1), uint32(verifyBlock))
	f.Fuzz(func(t *testing.T, seed uint64, offK uint16, cut, flip uint32) {
		r := rand.New(rand.NewPCG(seed, 3))
		data := make([]byte, 2*verifyBlock+int(seed%4096))
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		off := int64(offK) * 4096
		whole := sumsOf(off, data)
		var pieces []int
		for rest := len(data); rest > 0; {
			n := 1 + int(cut)%(rest)
			pieces = append(pieces, n)
			rest -= n
			cut = cut*1664525 + 1013904223
		}
		require.Equal(t, whole, sumsOf(off, data, pieces...))

		at := int(flip) % len(data)
		data[at] ^= 1
		got := sumsOf(off, data, pieces...)
		require.Len(t, got, len(whole))
		for i := range got {
			differs := got[i].block == (off+int64(at))/verifyBlock
			assert.Equal(t, differs, got[i].sum != whole[i].sum, "block %d", got[i].block)
		}
	})
}
