package cluster

import "testing"

func TestPgidWriter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		writes []string
		pgid   int
		stderr string
	}{
		{"tag then output", []string{"bmcd-pgid:4242\nwarning\n"}, 4242, "warning\n"},
		{"tag split over writes", []string{"bmcd-p", "gid:42", "42\nwar", "ning\n"}, 4242, "warning\n"},
		{"no tag: a shell's own first line is kept", []string{"motd\n", "err\n"}, 0, "motd\nerr\n"},
		{"tag never finished", []string{"bmcd-pgid:42"}, 0, "bmcd-pgid:42"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := &pgidWriter{}
			for _, s := range tc.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", s, n, err)
				}
			}
			if w.pgid() != tc.pgid || string(w.bytes()) != tc.stderr {
				t.Errorf("pgid %d stderr %q, want %d %q", w.pgid(), w.bytes(), tc.pgid, tc.stderr)
			}
		})
	}
}
