package simconsole

// Lost returns how many bytes the node in slot could not write to its
// console because nobody read it.
func Lost(c *Consoles, slot int) uint64 { return c.port(slot).node.lost.Load() }
