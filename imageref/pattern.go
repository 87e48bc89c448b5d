package imageref

import (
	"fmt"
	"strings"
)

// Pattern is a compiled image pattern. The zero value matches nothing.
type Pattern struct {
	text string
	// literal is set for a pattern without wildcards: it matches by
	// canonical identity (repository, and tag or digest when written).
	literal *Ref
	// host and rest are set for a wildcard pattern that names a registry:
	// host is matched against the whole canonical host, rest against the
	// repository path with its tag and digest.
	host, rest string
	hasHost    bool
}

// CompilePattern compiles a policy pattern. See the package documentation
// for the syntax.
func CompilePattern(s string) (Pattern, error) {
	if s == "" {
		return Pattern{}, fmt.Errorf("empty pattern")
	}
	if strings.ContainsAny(s, " \t\n|,") {
		return Pattern{}, fmt.Errorf("pattern %q holds white space or a separator (|, ,): write one pattern per list item", s)
	}
	if !hasWildcard(s) {
		r, err := Parse(s)
		if err != nil {
			return Pattern{}, fmt.Errorf("pattern %q is neither a glob nor a valid reference: %w", s, err)
		}
		return Pattern{text: s, literal: &r}, nil
	}
	p := Pattern{text: s}
	if host, rest, ok := splitHost(s); ok {
		p.host, p.rest, p.hasHost = CanonicalHost(host), rest, true
	}
	return p, nil
}

// MustCompilePattern is CompilePattern for patterns known to be valid; it
// panics on an invalid one.
func MustCompilePattern(s string) Pattern {
	p, err := CompilePattern(s)
	if err != nil {
		panic(err)
	}
	return p
}

// splitHost splits a wildcard pattern that names a registry host into the
// host and the rest. The host is the first path segment when it looks like
// a host (holds a dot or a port, or is localhost) and has no wildcard before
// its end; a pattern like `registry.example.com*` without a slash names the
// host `registry.example.com` and any repository in it.
func splitHost(s string) (host, rest string, ok bool) {
	first, after, hasSlash := strings.Cut(s, "/")
	if hasSlash {
		if looksLikeHost(first) {
			return first, after, true
		}
		return "", "", false
	}
	i := strings.IndexAny(s, "*?")
	prefix := s[:i]
	if i == 0 || !looksLikeHost(prefix) || s[i:] != "*" {
		return "", "", false
	}
	return prefix, "*", true
}

// looksLikeHost applies Docker's rule for telling a registry host from a
// repository path component: a dot or a colon in it, or `localhost`. A
// segment that starts with a wildcard is never a host.
func looksLikeHost(seg string) bool {
	if seg == "" || seg[0] == '*' || seg[0] == '?' {
		return false
	}
	if seg == "localhost" || strings.HasPrefix(seg, "localhost:") {
		return true
	}
	name, _, _ := strings.Cut(seg, ":")
	return strings.Contains(name, ".") || (strings.Contains(seg, ":") && !hasWildcard(seg) && isPort(seg[len(name)+1:]))
}

func isPort(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.text }

// Literal reports whether the pattern has no wildcards.
func (p Pattern) Literal() bool { return p.literal != nil }

// Match reports whether r matches the pattern.
func (p Pattern) Match(r Ref) bool {
	switch {
	case p.text == "":
		return false
	case p.literal != nil:
		return p.matchLiteral(r)
	case p.hasHost:
		if !globMatch(p.host, r.Registry) {
			return false
		}
		// The canonical form minus "host/" is the repository with its
		// suffix; with an implied tag, the bare repository is tried too.
		// Docker Hub's official images are tried without `library/` as
		// well, as `docker.io/nginx` names them.
		rest := r.Canonical()[len(r.Registry)+1:]
		if p.matchRest(rest, r) {
			return true
		}
		if official, ok := strings.CutPrefix(rest, "library/"); ok && r.Registry == DockerHub {
			return p.matchRest(official, r)
		}
		return false
	}
	return globMatch(p.text, r.Written) || globMatch(p.text, r.Canonical()) || globMatch(p.text, r.Familiar())
}

// matchRest matches the part of a reference after its host: the
// repository with its suffix and, for an implied tag, without it.
func (p Pattern) matchRest(rest string, r Ref) bool {
	if globMatch(p.rest, rest) {
		return true
	}
	if r.TagImplied && r.Digest == "" {
		repo, _, _ := strings.Cut(rest, ":")
		return globMatch(p.rest, repo)
	}
	return false
}

func (p Pattern) matchLiteral(r Ref) bool {
	l := p.literal
	if l.Registry != r.Registry || l.Repository != r.Repository {
		return false
	}
	if l.Digest != "" {
		return l.Digest == r.Digest
	}
	if l.TagImplied {
		return true // a bare repository names all its tags and digests
	}
	return l.Tag == r.Tag
}
