package simkube

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		name, accept string
		wantV        string
		wantOK       bool
	}{
		{"none", "", "", true},
		{"json", "application/json", "", true},
		{"any", "*/*", "", true},
		{"table first", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json", "v1", true},
		{"json first", "application/json, application/json;as=Table;v=v1;g=meta.k8s.io", "", true},
		{"unknown version, then json", "application/json;as=Table;v=v9;g=meta.k8s.io,application/json", "", true},
		{"other group", "application/json;as=Table;v=v1;g=example.com", "", false},
		{"protobuf", "application/vnd.kubernetes.protobuf", "", false},
		{"unparsable, as none", ";;;", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := negotiate(tc.accept, "Table", "meta.k8s.io", "v1", "v1beta1")
			if v != tc.wantV || ok != tc.wantOK {
				t.Errorf("negotiate(%q) = %q, %t; want %q, %t", tc.accept, v, ok, tc.wantV, tc.wantOK)
			}
		})
	}
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "application/json", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json", "a/b;c=\"d\",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		v, ok := negotiate(accept, "Table", "meta.k8s.io", "v1", "v1beta1")
		if v != "" && (!ok || (v != "v1" && v != "v1beta1")) {
			t.Errorf("negotiate(%q) = %q, %t", accept, v, ok)
		}
	})
}

func TestAge(t *testing.T) {
	for _, tc := range []struct {
		d    string
		want string
	}{
		{"-5s", "<invalid>"}, {"-500ms", "0s"}, {"0s", "0s"}, {"119s", "119s"}, {"2m", "2m"}, {"5m30s", "5m30s"},
		{"10m20s", "10m"}, {"3h", "3h"}, {"3h5m", "3h5m"}, {"10h", "10h"}, {"49h", "2d1h"}, {"48h", "2d"},
		{"240h", "10d"}, {"17520h", "2y"}, {"17544h", "2y1d"}, {"87600h", "10y"},
	} {
		d, err := time.ParseDuration(tc.d)
		if err != nil {
			t.Fatal(err)
		}
		if got := age(t0.Add(d), t0); got != tc.want {
			t.Errorf("age(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
