package imageref

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// DockerHub is the canonical host of Docker Hub. go-containerregistry names
// it index.docker.io; people and the OCI annotations mostly write docker.io.
const DockerHub = "docker.io"

// dockerHubAliases are the host names that mean Docker Hub.
var dockerHubAliases = map[string]bool{
	"docker.io":            true,
	"index.docker.io":      true,
	"registry-1.docker.io": true,
}

// ErrInvalid is wrapped by every error Parse returns.
var ErrInvalid = errors.New("invalid image reference")

// Ref is a parsed image reference. Build it with Parse and treat it as a
// value: Parse caches its canonical and familiar forms, which changing a
// field afterwards would leave stale.
type Ref struct {
	// Written is the reference exactly as it was given.
	Written string
	// Registry is the canonical registry host (with port, if any).
	Registry string
	// Repository is the repository path within the registry,
	// `library/centos` for Docker Hub official images.
	Repository string
	// Tag is the tag, `latest` when neither tag nor digest was written.
	Tag string
	// Digest is the digest, empty when none was written.
	Digest string
	// TagImplied reports that Tag was not written but implied.
	TagImplied bool

	// canonical and familiar cache the forms patterns are matched against;
	// Parse fills them, a Ref built by hand computes them on demand.
	canonical, familiar string
}

// Parse parses a reference as written into a Ref. Errors wrap ErrInvalid.
func Parse(s string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("%w: empty", ErrInvalid)
	}
	if strings.TrimSpace(s) != s {
		return Ref{}, fmt.Errorf("%w %q: surrounding white space", ErrInvalid, s)
	}
	base, dig, hasDigest := strings.Cut(s, "@")
	r := Ref{Written: s}
	if hasDigest {
		d, err := name.NewDigest(s)
		if err != nil {
			return Ref{}, fmt.Errorf("%w %q: %v", ErrInvalid, s, err)
		}
		r.Digest = dig
		r.setRepository(d.Context())
		if tagWritten(base) {
			t, err := name.NewTag(base)
			if err != nil {
				return Ref{}, fmt.Errorf("%w %q: %v", ErrInvalid, s, err)
			}
			r.Tag = t.TagStr()
		}
		return r.cache(), nil
	}
	t, err := name.NewTag(s)
	if err != nil {
		return Ref{}, fmt.Errorf("%w %q: %v", ErrInvalid, s, err)
	}
	r.setRepository(t.Context())
	r.Tag = t.TagStr()
	r.TagImplied = !tagWritten(s)
	return r.cache(), nil
}

// cache computes the canonical and familiar forms once.
func (r Ref) cache() Ref {
	r.canonical, r.familiar = "", ""
	r.canonical, r.familiar = r.Canonical(), r.Familiar()
	return r
}

// tagWritten reports whether a reference without digest names a tag: a colon
// after the last slash (a colon before it belongs to a host's port).
func tagWritten(s string) bool {
	return strings.Contains(s[strings.LastIndex(s, "/")+1:], ":")
}

func (r *Ref) setRepository(repo name.Repository) {
	r.Registry = CanonicalHost(repo.RegistryStr())
	r.Repository = repo.RepositoryStr()
}

// CanonicalHost maps Docker Hub's aliases to DockerHub and lowercases hosts.
func CanonicalHost(host string) string {
	host = strings.ToLower(host)
	if dockerHubAliases[host] {
		return DockerHub
	}
	return host
}

// Name is the canonical repository: registry and repository path.
func (r Ref) Name() string { return r.Registry + "/" + r.Repository }

// Canonical is the fully qualified reference: `docker.io/library/centos:7`,
// `registry.example.com/app@sha256:...`, or `host/app:1.0@sha256:...` when
// both tag and digest were written.
func (r Ref) Canonical() string {
	if r.canonical != "" {
		return r.canonical
	}
	return r.Name() + r.suffix()
}

// Familiar is the shortest form Docker itself would print: Docker Hub's host
// and `library/` dropped, the implied `latest` kept.
func (r Ref) Familiar() string {
	if r.familiar != "" {
		return r.familiar
	}
	if r.Registry != DockerHub {
		return r.Canonical()
	}
	return strings.TrimPrefix(r.Repository, "library/") + r.suffix()
}

func (r Ref) suffix() string {
	var b strings.Builder
	if r.Tag != "" && (r.Digest == "" || !r.TagImplied) {
		b.WriteString(":" + r.Tag)
	}
	if r.Digest != "" {
		b.WriteString("@" + r.Digest)
	}
	return b.String()
}

// String returns the canonical form.
func (r Ref) String() string { return r.Canonical() }
