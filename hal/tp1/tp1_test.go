package tp1_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"

	"github.com/turingpi-oss/bmcd/hal"
	"github.com/turingpi-oss/bmcd/hal/tp1"
)

const addr = 0x57

// slotBit is the bit map of 0xF2 and 0xF8, copied from the Turing Pi 1
// docs rather than from the package, so a wrong bit there fails here.
func slotBit(slot int) byte {
	return map[int]byte{1: 0x02, 2: 0x04, 3: 0x08, 4: 0x10, 5: 0x80, 6: 0x40, 7: 0x20}[slot]
}

// Transcript builders: one DS4520 register read or write.
func rd(reg, v byte) i2ctest.IO { return i2ctest.IO{Addr: addr, W: []byte{reg}, R: []byte{v}} }
func wr(reg, v byte) i2ctest.IO { return i2ctest.IO{Addr: addr, W: []byte{reg, v}} }

// newBoard returns a board on a Playback expecting New's traffic (SEE
// already set) followed by ops.
func newBoard(t *testing.T, opts *tp1.Opts, ops ...i2ctest.IO) (*tp1.Board, *i2ctest.Playback) {
	t.Helper()
	pb := &i2ctest.Playback{Ops: append([]i2ctest.IO{rd(0xF4, 0x01)}, ops...), DontPanic: true}
	b, err := tp1.New(pb, opts)
	require.NoError(t, err)
	return b, pb
}

// failingBus fails its Tx number failAt (counting from 0) with err and
// passes every other Tx to Bus, so a Playback still pins the rest.
type failingBus struct {
	i2c.Bus
	failAt, n int
	// times is how many Tx in a row fail from failAt; 0 means 1.
	times int
	err   error
}

func (f *failingBus) Tx(addr uint16, w, r []byte) error {
	n := f.n
	f.n++
	if n >= f.failAt && n < f.failAt+max(f.times, 1) {
		return f.err
	}
	return f.Bus.Tx(addr, w, r)
}

var errBus = errors.New("bus: NACK")

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *tp1.Opts
		ops  []i2ctest.IO
	}{
		{"SEE already set: no write", nil, []i2ctest.IO{rd(0xF4, 0x01)}},
		{"SEE clear: set it", nil, []i2ctest.IO{rd(0xF4, 0x00), wr(0xF4, 0x01)}},
		{"other config bits kept", nil, []i2ctest.IO{rd(0xF4, 0x80), wr(0xF4, 0x81)}},
		{"other address", &tp1.Opts{Addr: 0x50}, []i2ctest.IO{
			{Addr: 0x50, W: []byte{0xF4}, R: []byte{0x00}},
			{Addr: 0x50, W: []byte{0xF4, 0x01}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb := &i2ctest.Playback{Ops: tc.ops, DontPanic: true}
			b, err := tp1.New(pb, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, hal.Info{Profile: "tp1", Model: "Turing Pi 1", Slots: 7}, b.Info())
			require.NoError(t, pb.Close())
		})
	}
}

func TestNewErrors(t *testing.T) {
	t.Run("nil bus", func(t *testing.T) {
		_, err := tp1.New(nil, nil)
		require.Error(t, err)
	})
	for _, tc := range []struct {
		name   string
		failAt int
		ops    []i2ctest.IO
	}{
		{"read config fails", 0, nil},
		{"write config fails", 1, []i2ctest.IO{rd(0xF4, 0x00)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb := &i2ctest.Playback{Ops: tc.ops, DontPanic: true}
			_, err := tp1.New(&failingBus{Bus: pb, failAt: tc.failAt, err: errBus}, nil)
			require.ErrorIs(t, err, errBus)
			assert.ErrorContains(t, err, "tp1: enter SRAM shadow mode")
			assert.ErrorContains(t, err, "0xF4")
			require.NoError(t, pb.Close())
		})
	}
}

func TestSetPowerEverySlot(t *testing.T) {
	ctx := context.Background()
	for slot := 1; slot <= 7; slot++ {
		bit := slotBit(slot)
		for _, tc := range []struct {
			on        bool
			from, new byte
		}{
			{true, 0x00, bit},
			{false, 0xFF, 0xFF &^ bit},
		} {
			t.Run(fmt.Sprintf("slot %d on=%v", slot, tc.on), func(t *testing.T) {
				b, pb := newBoard(t, nil, rd(0xF2, tc.from), wr(0xF2, tc.new))
				require.NoError(t, b.SetPower(ctx, slot, tc.on))
				require.NoError(t, pb.Close())
			})
		}
	}
}

func TestSetPowerReadModifyWrite(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		slot int
		on   bool
		ops  []i2ctest.IO
	}{
		{"others kept when switching off", 3, false, []i2ctest.IO{rd(0xF2, 0xFE), wr(0xF2, 0xF6)}},
		{"others kept when switching on", 5, true, []i2ctest.IO{rd(0xF2, 0x26), wr(0xF2, 0xA6)}},
		{"unused bit 0 kept", 1, true, []i2ctest.IO{rd(0xF2, 0x01), wr(0xF2, 0x03)}},
		{"already on: no write", 7, true, []i2ctest.IO{rd(0xF2, 0x20)}},
		{"already off: no write", 6, false, []i2ctest.IO{rd(0xF2, 0xBF)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, pb := newBoard(t, nil, tc.ops...)
			require.NoError(t, b.SetPower(ctx, tc.slot, tc.on))
			require.NoError(t, pb.Close())
		})
	}
}

func TestPowerState(t *testing.T) {
	ctx := context.Background()
	for slot := 1; slot <= 7; slot++ {
		bit := slotBit(slot)
		for _, tc := range []struct {
			name   string
			status byte
			want   hal.PowerState
		}{
			{"on", bit, hal.PowerOn},
			{"off, others on", 0xFF &^ bit, hal.PowerOff},
		} {
			t.Run(fmt.Sprintf("slot %d %s", slot, tc.name), func(t *testing.T) {
				b, pb := newBoard(t, nil, rd(0xF8, tc.status))
				got, err := b.PowerState(ctx, slot)
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				require.NoError(t, pb.Close())
			})
		}
	}
}

func TestPresent(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		slot    int
		ops     []i2ctest.IO
		want    bool
		wantErr error
	}{
		{"on and answering", 5, []i2ctest.IO{rd(0xF2, 0x80), rd(0xF8, 0x80)}, true, nil},
		{"on but empty", 2, []i2ctest.IO{rd(0xF2, 0xFE), rd(0xF8, 0xFA)}, false, nil},
		{"off: unknown, 0xF8 not read", 4, []i2ctest.IO{rd(0xF2, 0xEE)}, false, tp1.ErrPresenceUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, pb := newBoard(t, nil, tc.ops...)
			got, err := b.Present(ctx, tc.slot)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.want, got)
			require.NoError(t, pb.Close())
		})
	}
}

// A slot switched on with no module measures off; Present says why.
func TestSwitchedOnButEmpty(t *testing.T) {
	ctx := context.Background()
	b, pb := newBoard(t, nil,
		rd(0xF2, 0x00), wr(0xF2, 0x08), // switch slot 3 on
		rd(0xF8, 0x00), // no module answers
		rd(0xF2, 0x08), rd(0xF8, 0x00),
	)
	require.NoError(t, b.SetPower(ctx, 3, true))
	st, err := b.PowerState(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, hal.PowerOff, st)
	present, err := b.Present(ctx, 3)
	require.NoError(t, err)
	assert.False(t, present)
	require.NoError(t, pb.Close())
}

// writeCycleBus is a DS4520 whose EEPROM writes take tW (Maxim DS4520
// datasheet: the chip does not acknowledge while it writes its EEPROM): a
// write to 0xF4, which is nonvolatile, or to 0xF2 while SEE is clear starts
// a cycle during which every transaction is refused. Time is clock's, which
// a stepper moves. The transactions the chip answers go on to Bus, a
// Playback that pins the traffic.
type writeCycleBus struct {
	i2c.Bus
	tW    time.Duration
	clock clockwork.Clock

	see       bool // SEE as last read or written
	busyUntil time.Time
	refused   int
}

var errNAK = errors.New("bus: NACK")

func (c *writeCycleBus) Tx(addr uint16, w, r []byte) error {
	now := c.clock.Now()
	if now.Before(c.busyUntil) {
		c.refused++
		return errNAK
	}
	if err := c.Bus.Tx(addr, w, r); err != nil {
		return err
	}
	switch {
	case len(w) == 1 && w[0] == 0xF4 && len(r) == 1:
		c.see = r[0]&0x01 != 0
	case len(w) == 2 && w[0] == 0xF4:
		c.see = w[1]&0x01 != 0
		c.busyUntil = now.Add(c.tW)
	case len(w) == 2 && w[0] == 0xF2 && !c.see:
		c.busyUntil = now.Add(c.tW)
	}
	return nil
}

// stepper runs calls to a board on a fake clock, moving the clock on by
// one millisecond (the board's poll interval) each time the board waits on
// it. It waits for the board to block on the clock, never on time.
type stepper struct {
	clock *clockwork.FakeClock
	// onStep, if set, runs before each step.
	onStep func()
	// steps counts the steps taken.
	steps int
}

func newStepper() *stepper { return &stepper{clock: clockwork.NewFakeClock()} }

// run calls call in a goroutine and steps the clock until it returns.
func (s *stepper) run(call func() error) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		defer cancel()
		done <- call()
	}()
	for s.clock.BlockUntilContext(ctx, 1) == nil {
		if s.onStep != nil {
			s.onStep()
		}
		s.clock.Advance(time.Millisecond)
		s.steps++
	}
	return <-done
}

func TestEEPROMWriteCycle(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		tW          time.Duration
		ops         []i2ctest.IO
		call        func(*tp1.Board) error
		wantRefused int
		wantErr     string
	}{
		{"New sets SEE: SetPower waits out the 0xF4 write", 20 * time.Millisecond,
			[]i2ctest.IO{rd(0xF4, 0x00), wr(0xF4, 0x01), rd(0xF2, 0x00), wr(0xF2, 0x04)},
			func(b *tp1.Board) error { return b.SetPower(ctx, 2, true) }, 20, ""},
		{"SRAM writes start no cycle", 20 * time.Millisecond,
			[]i2ctest.IO{rd(0xF4, 0x01), rd(0xF2, 0x00), wr(0xF2, 0x04), rd(0xF8, 0x04)},
			func(b *tp1.Board) error {
				if err := b.SetPower(ctx, 2, true); err != nil {
					return err
				}
				_, err := b.PowerState(ctx, 2)
				return err
			}, 0, ""},
		{"save: each write waits out the one before", 20 * time.Millisecond,
			[]i2ctest.IO{
				rd(0xF4, 0x01),
				rd(0xF2, 0x1E), rd(0xF4, 0x01), wr(0xF4, 0x00), wr(0xF2, 0x1E), wr(0xF4, 0x01),
				rd(0xF8, 0x1E),
			},
			func(b *tp1.Board) error {
				if err := b.SavePowerDefaults(ctx); err != nil {
					return err
				}
				_, err := b.PowerState(ctx, 2)
				return err
			}, 60, ""},
		{"chip busy longer than 25 ms: clear error, nothing else sent", 30 * time.Millisecond,
			[]i2ctest.IO{rd(0xF4, 0x00), wr(0xF4, 0x01)},
			func(b *tp1.Board) error { return b.SetPower(ctx, 2, true) }, 26,
			"tp1: switch slot 2 on: read DS4520 0xF2 at 0x57 on playback: DS4520 did not answer within its EEPROM write time (25ms after writing 0xF4): bus: NACK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pb := &i2ctest.Playback{Ops: tc.ops, DontPanic: true}
			st := newStepper()
			chip := &writeCycleBus{Bus: pb, tW: tc.tW, clock: st.clock}
			var b *tp1.Board
			err := st.run(func() (err error) {
				b, err = tp1.New(chip, &tp1.Opts{Clock: st.clock})
				return err
			})
			require.NoError(t, err)
			err = st.run(func() error { return tc.call(b) })
			if tc.wantErr != "" {
				require.ErrorIs(t, err, tp1.ErrWriteCycle)
				require.ErrorIs(t, err, errNAK)
				assert.EqualError(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.wantRefused, chip.refused, "transactions refused during write cycles")
			require.NoError(t, pb.Close())
		})
	}
}

// After a successful save the chip is back in SRAM mode, so SetPower goes
// straight to 0xF2 without checking 0xF4 again.
func TestSetPowerAfterSave(t *testing.T) {
	ctx := context.Background()
	st := newStepper()
	b, pb := newBoard(t, &tp1.Opts{Clock: st.clock},
		rd(0xF2, 0x02), rd(0xF4, 0x01), wr(0xF4, 0x00), wr(0xF2, 0x02), wr(0xF4, 0x01),
		rd(0xF2, 0x02), wr(0xF2, 0x06),
	)
	require.NoError(t, st.run(func() error { return b.SavePowerDefaults(ctx) }))
	require.NoError(t, st.run(func() error { return b.SetPower(ctx, 2, true) }))
	require.NoError(t, pb.Close())
}

func TestSavePowerDefaultsRefusesAllOff(t *testing.T) {
	for _, v := range []byte{0x00, 0x01} {
		t.Run(fmt.Sprintf("0xF2=0x%02X", v), func(t *testing.T) {
			st := newStepper()
			b, pb := newBoard(t, &tp1.Opts{Clock: st.clock}, rd(0xF2, v))
			err := st.run(func() error { return b.SavePowerDefaults(context.Background()) })
			require.ErrorIs(t, err, tp1.ErrUnsafeDefault)
			assert.Zero(t, st.steps, "waited for a write cycle")
			require.NoError(t, pb.Close())
		})
	}
}

func TestSavePowerDefaultsFailures(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		failAt int // counting New's read as 0
		times  int
		ops    []i2ctest.IO
	}{
		{"read 0xF2 fails: nothing written", 1, 0, nil},
		{"clearing SEE fails: SEE set again, no EEPROM write", 3, 0, []i2ctest.IO{
			rd(0xF2, 0x02), rd(0xF4, 0x01),
			wr(0xF4, 0x01),
		}},
		// The write of 0xF2 follows one of 0xF4, so it is tried 26 times.
		{"EEPROM write fails: SEE set again", 4, 26, []i2ctest.IO{
			rd(0xF2, 0x02), rd(0xF4, 0x01),
			wr(0xF4, 0x00),
			wr(0xF4, 0x01),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb := &i2ctest.Playback{Ops: append([]i2ctest.IO{rd(0xF4, 0x01)}, tc.ops...), DontPanic: true}
			st := newStepper()
			b, err := tp1.New(&failingBus{Bus: pb, failAt: tc.failAt, times: tc.times, err: errBus}, &tp1.Opts{Clock: st.clock})
			require.NoError(t, err)
			err = st.run(func() error { return b.SavePowerDefaults(ctx) })
			require.ErrorIs(t, err, errBus)
			assert.ErrorContains(t, err, "tp1: save power defaults")
			require.NoError(t, pb.Close())
		})
	}

	t.Run("setting SEE again fails: next SetPower sets it first", func(t *testing.T) {
		pb := &i2ctest.Playback{Ops: []i2ctest.IO{
			rd(0xF4, 0x01), // New
			rd(0xF2, 0x02), rd(0xF4, 0x01), wr(0xF4, 0x00), wr(0xF2, 0x02),
			// the write of 0xF4=0x01 fails here
			rd(0xF4, 0x00), wr(0xF4, 0x01), // SetPower restores SRAM mode
			rd(0xF2, 0x02), wr(0xF2, 0x06),
		}, DontPanic: true}
		st := newStepper()
		b, err := tp1.New(&failingBus{Bus: pb, failAt: 5, times: 26, err: errBus}, &tp1.Opts{Clock: st.clock})
		require.NoError(t, err)
		err = st.run(func() error { return b.SavePowerDefaults(ctx) })
		require.ErrorIs(t, err, errBus)
		assert.ErrorContains(t, err, "set SEE again")
		require.NoError(t, st.run(func() error { return b.SetPower(ctx, 2, true) }))
		require.NoError(t, pb.Close())
	})

	t.Run("cancelled during a write cycle: finished anyway", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		pb := &i2ctest.Playback{Ops: []i2ctest.IO{
			rd(0xF4, 0x01),
			rd(0xF2, 0x02), rd(0xF4, 0x01), wr(0xF4, 0x00), wr(0xF2, 0x02), wr(0xF4, 0x01),
		}, DontPanic: true}
		st := newStepper()
		st.onStep = cancel
		chip := &writeCycleBus{Bus: pb, tW: 10 * time.Millisecond, clock: st.clock}
		b, err := tp1.New(chip, &tp1.Opts{Clock: st.clock})
		require.NoError(t, err)
		require.NoError(t, st.run(func() error { return b.SavePowerDefaults(ctx) }))
		assert.Positive(t, chip.refused)
		require.NoError(t, pb.Close())
	})
}

func TestBusErrorsAreWrapped(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func(*tp1.Board) error
		want string
	}{
		{"SetPower", func(b *tp1.Board) error { return b.SetPower(ctx, 3, true) },
			"tp1: switch slot 3 on: read DS4520 0xF2 at 0x57 on playback: bus: NACK"},
		{"PowerState", func(b *tp1.Board) error { _, err := b.PowerState(ctx, 3); return err },
			"tp1: power state of slot 3: read DS4520 0xF8 at 0x57 on playback: bus: NACK"},
		{"Present", func(b *tp1.Board) error { _, err := b.Present(ctx, 3); return err },
			"tp1: presence in slot 3: read DS4520 0xF2 at 0x57 on playback: bus: NACK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb := &i2ctest.Playback{Ops: []i2ctest.IO{rd(0xF4, 0x01)}, DontPanic: true}
			b, err := tp1.New(&failingBus{Bus: pb, failAt: 1, err: errBus}, nil)
			require.NoError(t, err)
			err = tc.call(b)
			require.ErrorIs(t, err, errBus)
			assert.EqualError(t, err, tc.want)
			require.NoError(t, pb.Close())
		})
	}

	t.Run("write error names register and value", func(t *testing.T) {
		pb := &i2ctest.Playback{Ops: []i2ctest.IO{rd(0xF4, 0x01), rd(0xF2, 0x00)}, DontPanic: true}
		b, err := tp1.New(&failingBus{Bus: pb, failAt: 2, err: errBus}, nil)
		require.NoError(t, err)
		err = b.SetPower(ctx, 1, true)
		require.ErrorIs(t, err, errBus)
		assert.EqualError(t, err, "tp1: switch slot 1 on: write DS4520 0xF2=0x02 at 0x57 on playback: bus: NACK")
		require.NoError(t, pb.Close())
	})

	t.Run("unexpected traffic fails", func(t *testing.T) {
		b, pb := newBoard(t, nil, rd(0xF8, 0x00)) // expects a read of 0xF8
		err := b.SetPower(ctx, 1, true)
		require.Error(t, err)
		assert.ErrorContains(t, err, "read DS4520 0xF2")
		require.Error(t, pb.Close())
	})
}

func TestNoSuchSlotHasNoTraffic(t *testing.T) {
	ctx := context.Background()
	for _, slot := range []int{-1, 0, 8} {
		for _, tc := range []struct {
			name string
			call func(*tp1.Board) error
		}{
			{"SetPower", func(b *tp1.Board) error { return b.SetPower(ctx, slot, true) }},
			{"PowerState", func(b *tp1.Board) error { _, err := b.PowerState(ctx, slot); return err }},
			{"Present", func(b *tp1.Board) error { _, err := b.Present(ctx, slot); return err }},
		} {
			t.Run(fmt.Sprintf("%s slot %d", tc.name, slot), func(t *testing.T) {
				b, pb := newBoard(t, nil) // any Tx after New fails Close
				require.ErrorIs(t, tc.call(b), hal.ErrNoSlot)
				require.NoError(t, pb.Close())
			})
		}
	}
}

func TestCancelledContextHasNoTraffic(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		call func(*tp1.Board) error
	}{
		{"SetPower", func(b *tp1.Board) error { return b.SetPower(ctx, 1, true) }},
		{"PowerState", func(b *tp1.Board) error { _, err := b.PowerState(ctx, 1); return err }},
		{"Present", func(b *tp1.Board) error { _, err := b.Present(ctx, 1); return err }},
		{"SavePowerDefaults", func(b *tp1.Board) error { return b.SavePowerDefaults(ctx) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, pb := newBoard(t, nil)
			require.ErrorIs(t, tc.call(b), context.Canceled)
			require.NoError(t, pb.Close())
		})
	}
}

// fakeDS4520 emulates the expander's registers, for the concurrency test.
// It yields between transactions so that unserialized read-modify-writes
// would interleave and lose updates.
type fakeDS4520 struct {
	mu   sync.Mutex
	regs [256]byte
}

func (f *fakeDS4520) String() string                  { return "fake" }
func (f *fakeDS4520) SetSpeed(physic.Frequency) error { return nil }

func (f *fakeDS4520) Tx(a uint16, w, r []byte) error {
	defer runtime.Gosched()
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case a != addr:
		return errors.New("fake: no device")
	case len(w) == 1 && len(r) == 1:
		r[0] = f.regs[w[0]]
	case len(w) == 2 && len(r) == 0:
		f.regs[w[0]] = w[1]
	default:
		return fmt.Errorf("fake: unsupported Tx w=%x r=%d", w, len(r))
	}
	return nil
}

func (f *fakeDS4520) reg(r byte) byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.regs[r]
}

func TestConcurrentSetPower(t *testing.T) {
	for _, tc := range []struct {
		name   string
		from   byte
		on     func(slot int) bool
		wantF2 byte
	}{
		{"all on from all off", 0x01, func(int) bool { return true }, 0xFF},
		{"all off from all on", 0xFF, func(int) bool { return false }, 0x01},
		{"odd slots on, even off", 0x55, func(s int) bool { return s%2 == 1 }, 0x01 | 0x02 | 0x08 | 0x80 | 0x20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for round := 0; round < 20; round++ {
				fake := &fakeDS4520{}
				fake.regs[0xF2] = tc.from
				fake.regs[0xF4] = 0x01
				b, err := tp1.New(fake, nil)
				require.NoError(t, err)

				var wg sync.WaitGroup
				for slot := 1; slot <= 7; slot++ {
					wg.Go(func() {
						assert.NoError(t, b.SetPower(context.Background(), slot, tc.on(slot)))
					})
				}
				wg.Wait()
				require.Equal(t, fmt.Sprintf("0x%02X", tc.wantF2), fmt.Sprintf("0x%02X", fake.reg(0xF2)), "round %d", round)
				require.Equal(t, byte(0x01), fake.reg(0xF4), "SEE stays set")
			}
		})
	}
}
