package bmc

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/turingpi-oss/bmcd/hal/atomicfile"
)

// stateVersion is bumped when the file format changes incompatibly.
const stateVersion = 1

// stateFile is the name of the state file under the state directory.
const stateFile = "state.json"

// slotConfig is what bmcd remembers about a slot.
type slotConfig struct {
	Name   string `json:"name,omitempty"`
	Module string `json:"module,omitempty"`
	Policy Policy `json:"policy"`
	// Requested is the last power state a user asked for: "on", "off" or "".
	Requested string `json:"requested,omitempty"`
}

// persistedState is the state file's content.
type persistedState struct {
	Version int                   `json:"version"`
	Slots   map[string]slotConfig `json:"slots"`
}

func defaultSlotConfig() slotConfig { return slotConfig{Policy: AlwaysOff} }

// loadState reads the state of n slots from dir. A missing file gives
// defaults and no warning. A corrupt one is renamed to state.json.corrupt
// and gives defaults plus a warning saying so; only a failure to read or
// to move the file aside is an error.
func loadState(dir string, n int) (cfgs []slotConfig, warning string, err error) {
	cfgs = make([]slotConfig, n)
	for i := range cfgs {
		cfgs[i] = defaultSlotConfig()
	}
	path := filepath.Join(dir, stateFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfgs, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("bmc: read state: %w", err)
	}
	if perr := parseState(data, cfgs); perr != nil {
		aside := path + ".corrupt"
		if err := os.Rename(path, aside); err != nil {
			return nil, "", fmt.Errorf("bmc: move corrupt state aside: %w", err)
		}
		return cfgs, fmt.Sprintf("state file %s was corrupt (%v); moved to %s and replaced by defaults", path, perr, aside), nil
	}
	return cfgs, "", nil
}

// parseState fills cfgs from data. Slots the file does not mention keep
// their defaults; slots the board does not have are ignored.
func parseState(data []byte, cfgs []slotConfig) error {
	var st persistedState
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	if st.Version != stateVersion {
		return fmt.Errorf("version %d, want %d", st.Version, stateVersion)
	}
	parsed := make([]slotConfig, len(cfgs))
	copy(parsed, cfgs)
	for key, c := range st.Slots {
		n, err := strconv.Atoi(key)
		if err != nil {
			return fmt.Errorf("slot key %q: not a number", key)
		}
		if n < 1 || n > len(cfgs) {
			continue
		}
		if _, err := ParsePolicy(string(c.Policy)); err != nil {
			return fmt.Errorf("slot %d: %w", n, err)
		}
		if c.Requested != "" && c.Requested != "on" && c.Requested != "off" {
			return fmt.Errorf("slot %d: requested %q", n, c.Requested)
		}
		parsed[n-1] = c
	}
	copy(cfgs, parsed)
	return nil
}

// saveState replaces the state file in dir with cfgs.
func saveState(dir string, cfgs []slotConfig) error {
	st := persistedState{Version: stateVersion, Slots: make(map[string]slotConfig, len(cfgs))}
	for i, c := range cfgs {
		st.Slots[strconv.Itoa(i+1)] = c
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("bmc: encode state: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, stateFile), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("bmc: save state: %w", err)
	}
	return nil
}
