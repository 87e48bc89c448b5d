package rebase

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseDockerfileErrors: bad input is an error naming the file and
// line, never a panic.
func TestParseDockerfileErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"FROM\n", "Dockerfile:1:"},
		{"RUN true\n", "Dockerfile: no FROM instruction"},
		{"ARG X\nFROM ${X}\n", "Dockerfile:2: FROM ${X} expands to nothing"},
		{"FROM alpine\nFROM ${X:?required}\n", "Dockerfile:2: expanding FROM"},
	}
	for _, tt := range tests {
		_, err := ParseDockerfile("Dockerfile", []byte(tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want one with %q", tt.src, err, tt.want)
		}
	}
}

// TestFromNotRewritten: FROM lines baseguard cannot rewrite say why.
func TestFromNotRewritten(t *testing.T) {
	tests := []struct{ src, want string }{
		{"FROM alpine:3.19-$TARGETARCH\n", "depends on the target platform"},
		{"ARG R=docker.io\nARG B=${R}/alpine:3.19\nFROM ${B}\n", "ARG B"},
		{"FROM alp\\\nine:3.19\n", "could not be located"},
		{"ARG V=3.19\nFROM alpine:${V:-3.20}\n", "form of variable"},
	}
	for _, tt := range tests {
		df, err := ParseDockerfile("Dockerfile", []byte(tt.src))
		if err != nil {
			t.Fatalf("%q: %v", tt.src, err)
		}
		f := df.Froms[len(df.Froms)-1]
		_, err = f.rewrite(strings.Replace(f.Image, "3.19", "3.21", 1) + "@sha256:" + strings.Repeat("0", 64))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want one saying %q", tt.src, err, tt.want)
		}
	}
}

// FuzzRewriteFrom: whatever the Dockerfile, reading it never panics, and
// pinning each FROM it can rewrite changes only that reference: the result
// reads back with the FROM naming the pinned image.
func FuzzRewriteFrom(f *testing.F) {
	files, _ := filepath.Glob("testdata/update/*.Dockerfile")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add([]byte("FROM a AS b\nFROM b\n"))
	const pin = "@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	f.Fuzz(func(t *testing.T, data []byte) {
		df, err := ParseDockerfile("Dockerfile", data)
		if err != nil {
			return
		}
		for i, from := range df.Froms {
			if from.Kind != FromImage || strings.Contains(from.Image, "@") {
				continue
			}
			edits, err := from.rewrite(from.Image + pin)
			if err != nil {
				continue
			}
			out, err := applyEdits(data, edits)
			if err != nil {
				t.Fatalf("applying %+v: %v", edits, err)
			}
			again, err := ParseDockerfile("Dockerfile", out)
			if err != nil {
				t.Fatalf("the rewritten file does not read back: %v\n%q", err, out)
			}
			if len(again.Froms) != len(df.Froms) || again.Froms[i].Image != from.Image+pin {
				t.Fatalf("FROM %d reads back as %q, want %q\n%q", i, again.Froms[i].Image, from.Image+pin, out)
			}
		}
	})
}
