package firstboot

import (
	"crypto/rand"
	"errors"
	"slices"
	"testing"

	"golang.org/x/crypto/ssh"
)

func parseTestSeed(t testing.TB) Seed {
	t.Helper()
	hk, err := GenerateHostKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(hk.Private.Public())
	if err != nil {
		t.Fatal(err)
	}
	s := Seed{Hostname: "node3", User: "pi", PasswordHash: "$y$j9T$salt$hash", AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(pub))},
		HostKey: hk, InstanceID: "bmcd-0011223344556677", K3sPrep: true}
	s, err = s.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sameSeed(a, b Seed) bool {
	return a.Hostname == b.Hostname && a.user() == b.user() && a.PasswordHash == b.PasswordHash &&
		slices.Equal(a.AuthorizedKeys, b.AuthorizedKeys) && a.HostKey.Private.Equal(b.HostKey.Private)
}

// TestSeedRoundTrip: each renderer's output parses back to the seed.
func TestSeedRoundTrip(t *testing.T) {
	t.Parallel()
	s := parseTestSeed(t)
	ud, err := userData(s, false)
	if err != nil {
		t.Fatal(err)
	}
	udp, err := userData(s, true)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := firstrunScript(s)
	if err != nil {
		t.Fatal(err)
	}
	root := s
	root.User = "root"
	dp, err := dietpiFiles(root, "AUTO_SETUP_AUTOMATED=0\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		parse func() (Seed, error)
		want  Seed
	}{
		{"user-data", func() (Seed, error) { return ParseUserData([]byte(ud)) }, s},
		{"user-data users list", func() (Seed, error) { return ParseUserData([]byte(udp)) }, s},
		{"firstrun.sh", func() (Seed, error) { return ParseFirstrun([]byte(fr)) }, s},
		{"dietpi", func() (Seed, error) { return ParseDietPi([]byte(dp["dietpi.txt"]), []byte(dp[dietpiScript])) }, root},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.parse()
			if err != nil {
				t.Fatal(err)
			}
			if !sameSeed(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseUserDataTemplate(t *testing.T) {
	t.Parallel()
	// Raspberry Pi OS Trixie's own template is not a bmcd seed.
	if _, err := ParseUserData([]byte("#cloud-config\n# template\n")); !errors.Is(err, ErrInvalidSeed) {
		t.Fatalf("err = %v", err)
	}
}

// FuzzParseUserData: arbitrary user-data never panics, and what parses
// renders to user-data that parses to the same seed.
func FuzzParseUserData(f *testing.F) {
	s := parseTestSeed(f)
	ud, err := userData(s, false)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(ud))
	f.Add([]byte("#cloud-config\nusers: [default, {name: x}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseUserData(data)
		if err != nil {
			return
		}
		got.InstanceID = "x"
		again, err := userData(got, false)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseUserData([]byte(again))
		if err != nil || !sameSeed(back, got) {
			t.Fatalf("round trip: %+v, %v", back, err)
		}
	})
}

// FuzzParseFirstrun: the same for firstrun.sh's assignment block.
func FuzzParseFirstrun(f *testing.F) {
	s := parseTestSeed(f)
	fr, err := firstrunScript(s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(fr))
	f.Add([]byte("#!/bin/bash\n\nBMCD_HOSTNAME='a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseFirstrun(data)
		if err != nil {
			return
		}
		again, err := firstrunScript(got)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseFirstrun([]byte(again))
		if err != nil || !sameSeed(back, got) {
			t.Fatalf("round trip: %+v, %v", back, err)
		}
	})
}

// FuzzParseDietPi: the same for dietpi.txt and the custom script.
func FuzzParseDietPi(f *testing.F) {
	s := parseTestSeed(f)
	s.User = "root"
	files, err := dietpiFiles(s, "AUTO_SETUP_AUTOMATED=0\n")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(files["dietpi.txt"]), []byte(files[dietpiScript]))
	f.Fuzz(func(t *testing.T, txt, script []byte) {
		got, err := ParseDietPi(txt, script)
		if err != nil {
			return
		}
		again, err := dietpiFiles(got, string(txt))
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseDietPi([]byte(again["dietpi.txt"]), []byte(again[dietpiScript]))
		if err != nil || !sameSeed(back, got) {
			t.Fatalf("round trip: %+v, %v", back, err)
		}
	})
}
