package rpiboot

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitLength(t *testing.T) {
	tests := []struct {
		name         string
		n            uint32
		value, index uint16
	}{
		{"zero-length announce", 0, 0, 0},
		{"boot message", 24, 0x0018, 0},
		{"largest in wValue alone", 0xffff, 0xffff, 0},
		{"64 KiB", 1 << 16, 0, 1},
		{"bootcode4.bin", 105984, 0x9e00, 0x0001},
		{"boot.img of usbboot#318", 31457792, 0x0200, 0x01e0},
		{"largest", math.MaxUint32, 0xffff, 0xffff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, i := splitLength(tt.n)
			assert.Equal(t, tt.value, v, "wValue")
			assert.Equal(t, tt.index, i, "wIndex")
			assert.Equal(t, tt.n, uint32(v)|uint32(i)<<16)
		})
	}
}

func TestBootMessage(t *testing.T) {
	b, err := bootMessage(105984)
	require.NoError(t, err)
	require.Len(t, b, 24)
	assert.Equal(t, uint32(105984), binary.LittleEndian.Uint32(b))
	assert.Equal(t, make([]byte, 20), b[4:], "zero signature")

	for _, n := range []int64{0, -1, math.MaxInt32 + 1} {
		_, err := bootMessage(n)
		assert.ErrorIs(t, err, ErrUnsupported, "length %d", n)
	}
}

// request lays out a request by hand, as the device does.
func request(cmd int32, name string) []byte {
	b := make([]byte, 260)
	binary.LittleEndian.PutUint32(b, uint32(cmd))
	copy(b[4:], name)
	return b
}

func TestParseFileMessage(t *testing.T) {
	long := strings.Repeat("a", 255)
	withJunk := request(0, "config.txt")
	copy(withJunk[4+len("config.txt")+1:], "junk after the NUL")
	unterminated := request(1, strings.Repeat("b", 256))
	tests := []struct {
		name    string
		in      []byte
		want    fileMessage
		wantErr bool
	}{
		{name: "GetFileSize", in: request(0, "mcb.bin"), want: fileMessage{CommandGetFileSize, "mcb.bin"}},
		{name: "ReadFile", in: request(1, "boot.img"), want: fileMessage{CommandReadFile, "boot.img"}},
		{name: "Done", in: request(2, ""), want: fileMessage{CommandDone, ""}},
		{name: "empty name", in: request(0, ""), want: fileMessage{CommandGetFileSize, ""}},
		{name: "metadata", in: request(0, "*MAC_ADDR*d8:3a:dd:00:00:01"), want: fileMessage{CommandGetFileSize, "*MAC_ADDR*d8:3a:dd:00:00:01"}},
		{name: "bytes after the NUL are ignored", in: withJunk, want: fileMessage{CommandGetFileSize, "config.txt"}},
		{name: "255-byte name", in: request(1, long), want: fileMessage{CommandReadFile, long}},
		{name: "unterminated name", in: unterminated, wantErr: true},
		{name: "unknown command", in: request(3, "x"), wantErr: true},
		{name: "negative command", in: request(-1, "x"), wantErr: true},
		{name: "short", in: request(0, "x")[:259], wantErr: true},
		{name: "long", in: append(request(0, "x"), 0), wantErr: true},
		{name: "empty", in: nil, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFileMessage(tt.in)
			if tt.wantErr {
				assert.ErrorIs(t, err, ErrProtocol)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFileMessageMarshal(t *testing.T) {
	b, err := fileMessage{CommandReadFile, "bootmain"}.marshal()
	require.NoError(t, err)
	assert.Equal(t, request(1, "bootmain"), b)

	_, err = fileMessage{CommandReadFile, strings.Repeat("x", 256)}.marshal()
	assert.ErrorIs(t, err, ErrProtocol)
	_, err = fileMessage{CommandReadFile, "a\x00b"}.marshal()
	assert.ErrorIs(t, err, ErrProtocol)
}

// seedRequests are the requests of testdata/requests/, the seeds of
// FuzzParseFileMessage.
func seedRequests() map[string]fileMessage {
	return map[string]fileMessage{
		"getfilesize-mcb":      {CommandGetFileSize, "mcb.bin"},
		"readfile-boot-img":    {CommandReadFile, "boot.img"},
		"done":                 {CommandDone, ""},
		"end-empty-name":       {CommandGetFileSize, ""},
		"metadata":             {CommandGetFileSize, "*MAC_ADDR*d8:3a:dd:00:00:01"},
		"dotdot":               {CommandGetFileSize, "../../etc/shadow"},
		"absolute":             {CommandReadFile, "/etc/passwd"},
		"longest-name":         {CommandReadFile, strings.Repeat("n", 255)},
		"readfile-start4-elf":  {CommandReadFile, "start4.elf"},
		"getfilesize-overlays": {CommandGetFileSize, "overlays/dwc2.dtbo"},
	}
}

// TestSeeds checks the fuzz seeds in testdata/ (and writes them with
// -update): the 260-byte requests and a synthetic bootfiles.tar.
func TestSeeds(t *testing.T) {
	for name, m := range seedRequests() {
		b, err := m.marshal()
		require.NoError(t, err)
		golden(t, filepath.Join("requests", name+".bin"), b)
	}
	golden(t, "bootfiles.tar", seedArchive(t))
}

// seedArchive is a bootfiles.bin-like archive with the cases the lookup
// must handle: mixed case, "./", a directory and a symlink entry.
func seedArchive(t testing.TB) []byte {
	return makeTar(t, []tarEntry{
		{name: "2711/bootcode4.bin", data: fakeBytes("seed/bootcode4.bin", 1500)},
		{name: "./2711/BootMain", data: fakeBytes("seed/bootmain", 700)},
		{name: "2711/mcb.bin", data: []byte{}},
		{name: "2712/", kind: '5'},
		{name: "2712/bootmain", kind: '2', data: []byte("../2711/BootMain")},
		{name: "2712/memsys00.bin", data: fakeBytes("seed/memsys00", 513)},
	})
}

func FuzzParseFileMessage(f *testing.F) {
	ents, err := os.ReadDir(filepath.Join("testdata", "requests"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("testdata", "requests", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseFileMessage(b)
		if err != nil {
			if !strings.Contains(err.Error(), ErrProtocol.Error()) {
				t.Fatalf("error without ErrProtocol: %v", err)
			}
			return
		}
		if len(b) != fileMessageLen || m.command < CommandGetFileSize || m.command > CommandDone {
			t.Fatalf("accepted %d bytes with command %d", len(b), m.command)
		}
		if len(m.name) >= fileNameLen || strings.IndexByte(m.name, 0) >= 0 {
			t.Fatalf("bad name %q", m.name)
		}
		enc, err := m.marshal()
		if err != nil {
			t.Fatalf("marshal of a parsed message: %v", err)
		}
		if n := 4 + len(m.name) + 1; !bytes.Equal(enc[:n], b[:n]) {
			t.Fatalf("round trip: % x, want % x", enc[:n], b[:n])
		}
		again, err := parseFileMessage(enc)
		if err != nil || again != m {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, m)
		}
	})
}
