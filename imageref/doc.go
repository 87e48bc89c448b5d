// Package imageref parses container image references into their canonical
// form and matches them against policy patterns.
//
// A reference as written (`centos:7`) has one canonical form, fully
// qualified: `docker.io/library/centos:7`. Registry hosts are lowercased and
// lose the default port (`Quay.io:443/x` is `quay.io/x`); Docker Hub's
// aliases (`index.docker.io`, `registry-1.docker.io`, with or without
// `:443`) and short forms (`centos`, `library/centos`) all canonicalize to
// `docker.io/library/...`; a reference with neither tag nor digest gets the
// implied tag `latest`; `tag@digest` keeps both (what runs is the digest:
// deciding whether the tag still names it is the resolver's job). Parsing
// follows the distribution reference grammar, the one the kubelet and
// containerd apply, so a reference they would refuse (`alpine/../x`,
// `alpine-:1`, `registry.example.com./x`, a non-ASCII host) is invalid
// here too.
//
// Patterns are globs in which `*` matches any run of characters, `/`
// included, and `?` matches one. A pattern that names a registry host has
// that host matched as a whole host, so `registry.example.com/*` never
// matches `registry.example.com.evil.io/...`. A pattern without wildcards is
// itself a reference and matches by canonical identity. The package does no
// I/O.
package imageref
