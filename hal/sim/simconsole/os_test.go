package simconsole_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal/sim/simconsole"
)

// TestBootOS: a node's system starts at each power-on and reset and stops
// at each power-off, reset and Close; its hostname and marker are what the
// boot log shows.
func TestBootOS(t *testing.T) {
	t.Parallel()
	events := make(chan string, 16)
	c, err := simconsole.New(&simconsole.Opts{Slots: 4, LineDelay: -1,
		Boot: func(slot int) (simconsole.OS, error) {
			events <- fmt.Sprintf("boot %d", slot)
			return simconsole.OS{Hostname: "seeded2", Marker: "bmcd-firstboot v1 host=seeded2 key=K addr=127.0.1.2:2202"}, nil
		},
		Halt: func(slot int) { events <- fmt.Sprintf("halt %d", slot) },
	})
	require.NoError(t, err)
	tm := openTerminal(t, c.Device(2))

	c.SetPower(2, true)
	got := tm.waitFor("\r\nseeded2 login: ")
	assert.Equal(t, "boot 2", <-events)
	assert.Contains(t, got, "systemd[1]: Hostname set to <seeded2>.\r\n")
	marker := "\r\nbmcd-firstboot v1 host=seeded2 key=K addr=127.0.1.2:2202\r\n"
	require.Contains(t, got, marker)
	assert.Less(t, strings.Index(got, "Started ssh.service"), strings.Index(got, marker), "the marker follows sshd's start")
	tm.send("pi\r")
	tm.expect("pi\r\nPassword: ")
	tm.send("x\r")
	tm.waitFor("pi@seeded2:~$ ")

	c.Reset(2)
	tm.waitFor("seeded2 login: ")
	assert.Equal(t, "halt 2", <-events)
	assert.Equal(t, "boot 2", <-events)

	c.SetPower(2, false)
	assert.Equal(t, "halt 2", <-events)

	c.SetPower(2, true)
	tm.waitFor("seeded2 login: ")
	assert.Equal(t, "boot 2", <-events)
	require.NoError(t, c.Close())
	assert.Equal(t, "halt 2", <-events, "Close stops a running system")
	assert.Empty(t, events)
}

// TestBootOSError: a system that fails to start still boots, with the
// default name, and is halted at power-off.
func TestBootOSError(t *testing.T) {
	t.Parallel()
	halted := make(chan int, 1)
	c := newConsoles(t, simconsole.Opts{Slots: 4, LineDelay: -1,
		Boot: func(int) (simconsole.OS, error) { return simconsole.OS{}, errors.New("seed unreadable") },
		Halt: func(slot int) { halted <- slot },
	})
	tm := openTerminal(t, c.Device(1))
	got := boot(t, c, tm, 1)
	assert.NotContains(t, got, "bmcd-firstboot")
	c.SetPower(1, false)
	assert.Equal(t, 1, <-halted)
}
