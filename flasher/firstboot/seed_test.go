package firstboot_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/turingpi-oss/bmcd/flasher/firstboot"
)

func TestSeedValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(s *firstboot.Seed)
		want error
	}{
		{"valid", func(s *firstboot.Seed) {}, nil},
		{"63-char hostname", func(s *firstboot.Seed) { s.Hostname = strings.Repeat("a", 63) }, nil},
		{"64-char hostname", func(s *firstboot.Seed) { s.Hostname = strings.Repeat("a", 64) }, firstboot.ErrInvalidSeed},
		{"hostname with dot", func(s *firstboot.Seed) { s.Hostname = "node2.lan" }, firstboot.ErrInvalidSeed},
		{"hostname ends in hyphen", func(s *firstboot.Seed) { s.Hostname = "node-" }, firstboot.ErrInvalidSeed},
		{"user with quote", func(s *firstboot.Seed) { s.User = "pi'x" }, firstboot.ErrInvalidSeed},
		{"yescrypt hash", func(s *firstboot.Seed) { s.PasswordHash = "$y$j9T$abc./$def" }, nil},
		{"plain password", func(s *firstboot.Seed) { s.PasswordHash = "hunter2" }, firstboot.ErrInvalidSeed},
		{"no key", func(s *firstboot.Seed) { s.AuthorizedKeys = nil }, firstboot.ErrInvalidSeed},
		{"two keys on one line", func(s *firstboot.Seed) { s.AuthorizedKeys = []string{s.AuthorizedKeys[0] + "\n" + s.AuthorizedKeys[0]} }, firstboot.ErrInvalidSeed},
		{"key with options", func(s *firstboot.Seed) { s.AuthorizedKeys = []string{`command="sh" ` + s.AuthorizedKeys[0]} }, firstboot.ErrInvalidSeed},
		{"no host key", func(s *firstboot.Seed) { s.HostKey = firstboot.HostKey{} }, firstboot.ErrInvalidSeed},
		{"no instance-id", func(s *firstboot.Seed) { s.InstanceID = "" }, firstboot.ErrInvalidSeed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := testSeed(t)
			tc.edit(&s)
			if _, err := s.Validate(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSeedValidateDropsUnsafeComment: a key comment that could break the
// shell or YAML it is written into is dropped, the key kept.
func TestSeedValidateDropsUnsafeComment(t *testing.T) {
	t.Parallel()
	s := testSeed(t)
	key := strings.Fields(s.AuthorizedKeys[0])
	s.AuthorizedKeys = []string{key[0] + " " + key[1] + " it's'; rm -rf /"}
	got, err := s.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if got.AuthorizedKeys[0] != key[0]+" "+key[1] {
		t.Fatalf("key = %q", got.AuthorizedKeys[0])
	}
}
