package console

// ring is a fixed-size byte ring addressed by absolute offsets: the offset
// of a byte is the number of bytes appended before it. It is not safe for
// concurrent use; Console guards it with its mutex.
type ring struct {
	buf []byte
	end int64 // absolute offset one past the newest byte (total appended)
}

// newRing returns an empty ring holding up to size bytes.
func newRing(size int) *ring {
	return &ring{buf: make([]byte, size)}
}

// oldest returns the absolute offset of the oldest byte still held.
func (r *ring) oldest() int64 {
	return max(0, r.end-int64(len(r.buf)))
}

// len returns the number of bytes held.
func (r *ring) len() int {
	return int(r.end - r.oldest())
}

// write appends p, overwriting the oldest bytes when full.
func (r *ring) write(p []byte) {
	size := int64(len(r.buf))
	r.end += int64(len(p))
	if int64(len(p)) > size {
		p = p[int64(len(p))-size:]
	}
	// Position of p[0] in buf.
	pos := (r.end - int64(len(p))) % size
	n := copy(r.buf[pos:], p)
	copy(r.buf, p[n:])
}

// readAt copies bytes starting at absolute offset off (which must be in
// [oldest, end]) into dst and returns how many it copied.
func (r *ring) readAt(off int64, dst []byte) int {
	avail := r.end - off
	if avail <= 0 {
		return 0
	}
	if int64(len(dst)) > avail {
		dst = dst[:avail]
	}
	size := int64(len(r.buf))
	pos := off % size
	n := copy(dst, r.buf[pos:])
	n += copy(dst[n:], r.buf)
	return n
}
