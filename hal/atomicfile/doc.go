// Package atomicfile replaces files so that a reader, or the next start
// after a crash or a power cut, sees either the old content or the new one,
// never a mix: write a temporary file in the same directory, fsync it,
// rename it over the old one, fsync the directory.
//
// bmcd keeps its state (slot names, power policy, job history) and the
// simulated board keeps its hardware state this way.
package atomicfile
