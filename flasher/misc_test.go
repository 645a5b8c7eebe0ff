package flasher

import (
	"bytes"
	"os/exec"
	"runtime"
	"runtime/debug"
)

func memStats() runtime.MemStats {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// exec_ runs a command; a trailing []byte argument is its stdin.
func exec_(name string, args ...any) ([]byte, error) {
	var strs []string
	var stdin []byte
	for _, a := range args {
		switch v := a.(type) {
		case string:
			strs = append(strs, v)
		case []byte:
			stdin = v
		}
	}
	cmd := exec.Command(name, strs...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	return cmd.Output()
}
