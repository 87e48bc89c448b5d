package rebase

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewerVersions(t *testing.T) {
	tags := []string{"3.9", "3.18", "3.19", "3.20", "3.21", "3.21.1", "3.19-slim", "3.21-slim", "3.22-rc1",
		"latest", "edge", "v3.30", "3.100", "99999999999.1", "3.21_beta", "20240101", "3.a"}
	tests := []struct {
		current string
		want    []string
	}{
		{"3.19", []string{"3.100", "3.21", "3.20"}},
		{"3.19-slim", []string{"3.21-slim"}},
		{"3.21.0", []string{"3.21.1"}},
		{"3.100", nil},
		{"latest", nil},
		{"v3.2", []string{"v3.30"}},
		{"3.21-rc1", []string{"3.22-rc1"}},
		{"20231201", []string{"20240101"}},
		{"3.20_beta", []string{"3.21_beta"}},
	}
	for _, tt := range tests {
		t.Run(tt.current, func(t *testing.T) {
			var got []string
			for _, v := range newerVersions(tt.current, tags) {
				got = append(got, v.tag)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("newer than %s (-want +got):\n%s", tt.current, diff)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	for tag, ok := range map[string]bool{
		"3.19": true, "3": true, "v1.2.3": true, "1.22-alpine3.20": true, "22.04": true,
		"latest": false, "8u302": false, "": false, "v": false, "3.": false, ".3": false,
		"1234567890": false, "deadbeef": false,
	} {
		if _, got := parseVersion(tag); got != ok {
			t.Errorf("parseVersion(%q) ok = %v, want %v", tag, got, ok)
		}
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"3.19", "v1.2.3-rc.1", "1.22-alpine3.20", "latest", "3..4", "9999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseVersion(s)
		if !ok {
			return
		}
		if len(v.nums) == 0 || v.tag != s {
			t.Fatalf("parseVersion(%q) = %+v", s, v)
		}
		if !v.sameShape(v) || v.compare(v) != 0 {
			t.Fatalf("%q is not the same as itself", s)
		}
	})
}

func TestRepoAsWritten(t *testing.T) {
	d := "sha256:" + strings.Repeat("a", 64)
	for in, want := range map[string]string{
		"alpine":                       "alpine",
		"alpine:3.19":                  "alpine",
		"alpine@" + d:                  "alpine",
		"alpine:3.19@" + d:             "alpine",
		"localhost:5000/base/a":        "localhost:5000/base/a",
		"localhost:5000/base/a:1":      "localhost:5000/base/a",
		"localhost:5000/base/a:1@" + d: "localhost:5000/base/a",
		"docker.io/library/alpine:3":   "docker.io/library/alpine",
	} {
		if got := repoAsWritten(in); got != want {
			t.Errorf("repoAsWritten(%q) = %q, want %q", in, got, want)
		}
	}
}
