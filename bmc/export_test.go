package bmc

// StateWrites is the number of background writes of the state file, for
// the group-commit tests.
func (b *Board) StateWrites() int64 { return b.stateWrites.Load() }
