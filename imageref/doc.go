// Package imageref parses container image references into their canonical
// form and matches them against policy patterns.
//
// A reference as written (`centos:7`) has one canonical form, fully
// qualified: `docker.io/library/centos:7`. Docker Hub's aliases
// (`index.docker.io`, `registry-1.docker.io`) and short forms (`centos`,
// `library/centos`) all canonicalize to `docker.io/library/...`; a reference
// with neither tag nor digest gets the implied tag `latest`; `tag@digest`
// keeps both. Parsing is delegated to go-containerregistry's pkg/name, so
// what baseguard accepts is what registries and container runtimes accept.
//
// Patterns are globs in which `*` matches any run of characters, `/`
// included, and `?` matches one. A pattern that names a registry host has
// that host matched as a whole host, so `registry.example.com/*` never
// matches `registry.example.com.evil.io/...`. A pattern without wildcards is
// itself a reference and matches by canonical identity. The package does no
// I/O.
package imageref
