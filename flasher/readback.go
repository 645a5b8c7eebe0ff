package flasher

import (
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// verifyBlock is the granularity of the read-back check: what is
// written is summed per verifyBlock-aligned block of the target, and a
// mismatch names the first block that differs. 1 MiB keeps the sums of
// a 64 GiB image at 1 MiB of memory.
const verifyBlock = 1 << 20

// blockSum is the digest of the bytes written to one block.
type blockSum struct {
	block int64 // index: offset / verifyBlock
	sum   uint64
}

// blockSums digests a stream of (offset, bytes) pieces per target block
// with xxhash64: a fast hash, not a cryptographic one. It guards against
// a disk that returns other bytes than it was given, not against an
// adversary; SHA-256 stays where a digest is a contract (Options.SHA256,
// bmap range checksums). Bytes of one block are hashed together in the
// order they come, so the writer's and the reader's sides must see the
// same pieces in the same order, which they do: both walk the image's
// extents from start to end.
type blockSums struct {
	h     xxhash.Digest
	block int64 // of the bytes being hashed; -1 before the first
	sums  []blockSum
}

func newBlockSums() *blockSums {
	s := &blockSums{block: -1}
	s.h.Reset()
	return s
}

// add hashes data, which is at offset off of the target, and returns
// the number of blocks it closed (whose sums were appended).
func (s *blockSums) add(off int64, data []byte) int {
	closed := 0
	for len(data) > 0 {
		b := off / verifyBlock
		if b != s.block {
			if s.close() {
				closed++
			}
			s.block = b
		}
		n := min(int64(len(data)), (b+1)*verifyBlock-off)
		s.h.Write(data[:n])
		data, off = data[n:], off+n
	}
	return closed
}

// close appends the sum of the block being hashed, if any.
func (s *blockSums) close() bool {
	if s.block < 0 {
		return false
	}
	s.sums = append(s.sums, blockSum{s.block, s.h.Sum64()})
	s.h.Reset()
	s.block = -1
	return true
}

// compare checks the sums of blocks read back against those written,
// read[0] against written[from]; it returns the index in written to
// go on from.
func compare(written []blockSum, from int, read []blockSum) (int, error) {
	for _, r := range read {
		if from >= len(written) || r.block != written[from].block {
			// The reader walks the same extents as the writer did.
			return from, fmt.Errorf("internal error: read back block %d, which was not the next written (%d of %d)",
				r.block, from, len(written))
		}
		if r.sum != written[from].sum {
			return from, fmt.Errorf("%w: the disk reads back other bytes than were written, first in the %d-byte block at offset %d",
				ErrVerify, verifyBlock, r.block*verifyBlock)
		}
		from++
	}
	return from, nil
}
