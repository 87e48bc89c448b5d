package imageref

import (
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"
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

// defaultPort is the port registries are reached on when none is written.
const defaultPort = "443"

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
//
// The grammar is the one container runtimes apply (the distribution
// reference grammar the kubelet and containerd parse with): a reference
// they would refuse to pull, such as `alpine/../x`, `alpine-:3.19`, a host
// with a trailing dot or a non-ASCII host, is invalid here too, never
// something that merely matches no pattern.
func Parse(s string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("%w: empty", ErrInvalid)
	}
	if strings.TrimSpace(s) != s {
		return Ref{}, fmt.Errorf("%w %q: surrounding white space", ErrInvalid, s)
	}
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return Ref{}, fmt.Errorf("%w %q: %v", ErrInvalid, s, err)
	}
	if reference.Domain(named) == "" {
		// `a_b.c/x`: the first component reads as a host, yet is no valid
		// host name; the grammar leaves the image without a registry.
		return Ref{}, fmt.Errorf("%w %q: names no valid registry host", ErrInvalid, s)
	}
	r := Ref{Written: s, Registry: CanonicalHost(reference.Domain(named)), Repository: reference.Path(named)}
	if r.Registry == DockerHub && !strings.Contains(r.Repository, "/") {
		r.Repository = "library/" + r.Repository // registry-1.docker.io/centos
	}
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest().String()
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag, r.TagImplied = "latest", true
	}
	return r.cache(), nil
}

// cache computes the canonical and familiar forms once.
func (r Ref) cache() Ref {
	r.canonical, r.familiar = "", ""
	r.canonical, r.familiar = r.Canonical(), r.Familiar()
	return r
}

// CanonicalHost lowercases a registry host, drops the default HTTPS port
// (`quay.io:443` is `quay.io`, as runtimes connect to it) and maps Docker
// Hub's aliases to DockerHub.
//
// A host must still read as one afterwards: a single word without dot or
// port (`Registry/app`, which the grammar takes for a host only for its
// capital letters; `a:443/app`) is kept as written, so that its canonical
// form names the same host and not a Docker Hub repository.
func CanonicalHost(host string) string {
	lower := strings.ToLower(host)
	if trimmed := strings.TrimSuffix(lower, ":"+defaultPort); trimmed != lower && readsAsHost(trimmed) {
		lower = trimmed
	}
	if !readsAsHost(lower) {
		return host
	}
	if dockerHubAliases[lower] {
		return DockerHub
	}
	return lower
}

// readsAsHost applies the grammar's test for a first path component being a
// registry host, less its capital-letter rule.
func readsAsHost(h string) bool {
	return h == "localhost" || strings.ContainsAny(h, ".:[")
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

// DigestOnly is the reference without its tag, `repo@digest`; a reference
// without a digest is returned as it is.
func (r Ref) DigestOnly() Ref {
	if r.Digest == "" {
		return r
	}
	d := Ref{Written: r.Name() + "@" + r.Digest, Registry: r.Registry, Repository: r.Repository, Digest: r.Digest}
	return d.cache()
}

// String returns the canonical form.
func (r Ref) String() string { return r.Canonical() }
