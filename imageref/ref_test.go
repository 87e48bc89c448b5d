package imageref

import (
	"errors"
	"strings"
	"testing"

	"github.com/distribution/reference"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		in, canonical, familiar string
	}{
		{"centos", "docker.io/library/centos:latest", "centos:latest"},
		{"centos:7", "docker.io/library/centos:7", "centos:7"},
		{"library/centos:7", "docker.io/library/centos:7", "centos:7"},
		{"docker.io/library/centos:7", "docker.io/library/centos:7", "centos:7"},
		{"index.docker.io/library/centos:7", "docker.io/library/centos:7", "centos:7"},
		{"registry-1.docker.io/bitnami/redis:7", "docker.io/bitnami/redis:7", "bitnami/redis:7"},
		{"registry.example.com/base/alpine:3.19", "registry.example.com/base/alpine:3.19", "registry.example.com/base/alpine:3.19"},
		{"localhost:5000/app", "localhost:5000/app:latest", "localhost:5000/app:latest"},
		{"registry.example.com:8443/team/app:1.0", "registry.example.com:8443/team/app:1.0", "registry.example.com:8443/team/app:1.0"},
		{"alpine@sha256:" + hex64, "docker.io/library/alpine@sha256:" + hex64, "alpine@sha256:" + hex64},
		{"alpine:3.19@sha256:" + hex64, "docker.io/library/alpine:3.19@sha256:" + hex64, "alpine:3.19@sha256:" + hex64},
		{"Registry.Example.com/app:1", "registry.example.com/app:1", "registry.example.com/app:1"},
		// The default port is no part of a host's identity; Docker Hub's
		// aliases are Docker Hub with or without it.
		{"quay.io:443/org/app:1", "quay.io/org/app:1", "quay.io/org/app:1"},
		{"QUAY.IO:443/org/app", "quay.io/org/app:latest", "quay.io/org/app:latest"},
		{"index.docker.io:443/library/alpine:3.19", "docker.io/library/alpine:3.19", "alpine:3.19"},
		{"registry-1.docker.io:443/alpine", "docker.io/library/alpine:latest", "alpine:latest"},
		{"docker.io/alpine", "docker.io/library/alpine:latest", "alpine:latest"},
		{"DOCKER.IO/library/alpine:3.19", "docker.io/library/alpine:3.19", "alpine:3.19"},
		{"registry.example.com:8443/app:1", "registry.example.com:8443/app:1", "registry.example.com:8443/app:1"},
		{"[::1]:5000/app:1", "[::1]:5000/app:1", "[::1]:5000/app:1"},
		{"localhost/app", "localhost/app:latest", "localhost/app:latest"},
		{"LOCALHOST:443/app", "localhost/app:latest", "localhost/app:latest"},
		{"Registry/app", "Registry/app:latest", "Registry/app:latest"},
		{"a:443/app", "a:443/app:latest", "a:443/app:latest"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := r.Canonical(); got != tt.canonical {
				t.Errorf("Canonical() = %q, want %q", got, tt.canonical)
			}
			if got := r.Familiar(); got != tt.familiar {
				t.Errorf("Familiar() = %q, want %q", got, tt.familiar)
			}
		})
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseInvalid(t *testing.T) {
	for _, in := range []string{
		"", " centos", "Centos:7", "centos:7:8", "centos@sha256:abc", "app:v1/x", "a b", "centos:" + string(make([]byte, 200)),
		// What the kubelet and containerd refuse to pull is never judged
		// as some other, harmless image.
		"alpine/../../evil", "alpine/./x", "../alpine", "alpine-:3.19", "alpine_:1", "-alpine", "alpine.:1",
		"a//b", "alpine/", "/alpine", "registry.example.com./base/alpine:3.19", "registry.example.com../x",
		"-registry.example.com/x", "registry.exämple.com/x:1", "régistry.example.com/x", "alpine:3.19\n",
		"alpine:-1", "alpine:.1", "alpine:" + strings.Repeat("a", 129), "alpine@sha256:" + hex64[:63],
		"alpine@md5:" + hex64, "alpine@sha256:" + strings.ToUpper(hex64), hex64,
		"registry.example.com:/x", "registry.example.com:port/x", "alpine\x00", "al\u202epine",
		"registry.example.com/" + strings.Repeat("a", 256), "0_0.0/x", "a_b.example.com/x:1",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := Parse(in)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) error = %v, want ErrInvalid", in, err)
			}
		})
	}
}

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, ref string
		want         bool
	}{
		// Docker Hub forms all meet.
		{"centos:7", "docker.io/library/centos:7", true},
		{"docker.io/library/centos:7", "centos:7", true},
		{"index.docker.io/library/centos:7", "library/centos:7", true},
		{"centos", "centos:8", true},
		{"centos:7", "centos:8", false},
		{"centos:7", "centos:7@sha256:" + hex64, true},
		{"alpine@sha256:" + hex64, "alpine:3.19@sha256:" + hex64, true},
		{"alpine@sha256:" + hex64, "alpine:3.19", false},
		// Globs cross slashes and see written and canonical forms.
		{"*centos*", "centos:7", true},
		{"*centos*", "quay.io/centos/centos:stream9", true},
		{"*ubuntu:18.04*", "ubuntu:18.04", true},
		{"*ubuntu:18.04*", "docker.io/library/ubuntu:18.04", true},
		{"*ubuntu:18.04*", "ubuntu:20.04", false},
		{"*debian:9*", "debian:9", true},
		{"*debian:9*", "debian:12", false},
		{"registry.example.com/base/alpine*", "registry.example.com/base/alpine:3.19", true},
		{"registry.example.com/base/alpine*", "registry.example.com/base/alpine", true},
		{"registry.example.com/base/*", "registry.example.com/base/distroless/static:nonroot", true},
		// Lookalike hosts never match.
		{"registry.example.com/base/alpine*", "registry.example.com.evil.io/base/alpine:3.19", false},
		{"registry.example.com/*", "registry.example.com.evil.io/x:1", false},
		{"registry.example.com*", "registry.example.com.evil.io/base/alpine:3.19", false},
		{"registry.example.com*", "registry.example.com/base/alpine:3.19", true},
		{"registry.example.com/*", "evilregistry.example.com/x:1", false},
		{"*.example.com/*", "registry.example.com/x:1", true},
		{"*.example.com/*", "example.com.evil.io/x:1", false},
		// A short-name glob does not leave Docker Hub by accident.
		{"alpine*", "registry.example.com/base/alpine:3.19", false},
		{"alpine:*", "docker.io/library/alpine:3.19", true},
		{"docker.io/*", "centos:7", true},
		// A pattern naming Docker Hub matches its official images as
		// people write them, with or without library/.
		{"docker.io/nginx*", "nginx:1.25", true},
		{"docker.io/nginx*", "docker.io/nginx:1.25", true},
		{"docker.io/nginx*", "docker.io/library/nginx", true},
		{"docker.io/nginx:1.*", "index.docker.io/library/nginx:1.25", true},
		{"docker.io/nginx:1.*", "nginx:2.0", false},
		{"index.docker.io/library/nginx*", "nginx", true},
		{"docker.io/nginx*", "quay.io/nginx/nginx:1", false},
		{"docker.io/bitnami/*", "bitnami/redis:7", true},
		{"docker.io/redis*", "bitnami/redis:7", false},
		{"docker.io/*", "quay.io/centos/centos", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.ref, func(t *testing.T) {
			p, err := CompilePattern(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Parse(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Match(r); got != tt.want {
				t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.ref, got, tt.want)
			}
		})
	}
}

func TestCompilePatternInvalid(t *testing.T) {
	for _, in := range []string{"", "a* | b*", "Centos:7", "a,b"} {
		if _, err := CompilePattern(in); err == nil {
			t.Errorf("CompilePattern(%q) succeeded, want error", in)
		}
	}
}

func TestRisks(t *testing.T) {
	tests := []struct {
		pattern string
		risky   bool
	}{
		{"registry.example.com/base/alpine*", true},
		{"registry.example.com/base/alpine:*", false},
		{"registry.example.com/base/*", false},
		{"*ubuntu:22.04*", true},
		{"*", true},
		{"centos:7", false},
	}
	for _, tt := range tests {
		if got := len(MustCompilePattern(tt.pattern).Risks()) > 0; got != tt.risky {
			t.Errorf("%q risky = %v, want %v", tt.pattern, got, tt.risky)
		}
	}
}

// FuzzParse holds Parse to the runtime grammar and to stable canonical
// forms: whatever parses is what the distribution grammar accepts, its
// canonical host is lower case without the default port, its canonical
// form parses to itself and matches itself as a literal pattern.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"centos:7", "a/b/c:d@sha256:" + hex64, "localhost:5000/x", "::", "@", "a@b@c", "docker.io/library/",
		"quay.io:443/x", "Index.Docker.io:443/x:1", "[::1]:5000/x", "a/../b", "a-:1", "host./x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		_, gerr := reference.ParseNormalizedNamed(s)
		if err == nil && gerr != nil {
			t.Fatalf("Parse(%q) error = %v, the runtime grammar says %v", s, err, gerr)
		}
		if err != nil {
			return
		}
		if CanonicalHost(r.Registry) != r.Registry || strings.HasSuffix(r.Registry, ".") {
			t.Fatalf("Parse(%q): registry %q is not canonical", s, r.Registry)
		}
		again, err := Parse(r.Canonical())
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", r.Canonical(), s, err)
		}
		if again.Canonical() != r.Canonical() {
			t.Fatalf("canonical form not stable: %q -> %q", r.Canonical(), again.Canonical())
		}
		p, err := CompilePattern(r.Canonical())
		if err != nil {
			t.Fatalf("canonical %q is not a pattern: %v", r.Canonical(), err)
		}
		if !p.Match(r) {
			t.Fatalf("canonical %q does not match %q", r.Canonical(), s)
		}
	})
}

func FuzzPattern(f *testing.F) {
	f.Add("registry.example.com/base/alpine*", "registry.example.com/base/alpine:3.19")
	f.Add("*centos*", "centos:7")
	f.Add("**?*", "a")
	f.Fuzz(func(t *testing.T, pattern, ref string) {
		p, err := CompilePattern(pattern)
		if err != nil {
			return
		}
		r, err := Parse(ref)
		if err != nil {
			return
		}
		p.Match(r)
		p.Risks()
	})
}
