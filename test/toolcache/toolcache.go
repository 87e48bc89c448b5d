// Package toolcache finds the tools that the scripts in hack/ build and
// cache (kube-apiserver, etcd and kubectl; ko, crane, BuildKit and runc),
// for the tests that run them.
package toolcache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// Find returns the first directory that holds every one of names,
// executable: first
// the one $env names, then those matching pattern under the scripts' cache
// ($BASEGUARD_CACHE, else ~/.cache/baseguard). The error says where it
// looked and that script builds them.
func Find(env, pattern, script string, names ...string) (string, error) {
	var candidates []string
	if d := os.Getenv(env); d != "" {
		candidates = append(candidates, d)
	}
	cache := os.Getenv("BASEGUARD_CACHE")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache", "baseguard")
		}
	}
	pattern = filepath.Join(cache, filepath.FromSlash(pattern))
	found, _ := filepath.Glob(pattern)
	for _, d := range append(candidates, found...) {
		if holdsAll(d, names) {
			return d, nil
		}
	}
	return "", errors.New(strings.Join(names, ", ") + " not found in $" + env + " or " + pattern + ": run " + script)
}

func holdsAll(dir string, names []string) bool {
	for _, n := range names {
		if fi, err := os.Stat(filepath.Join(dir, n)); err != nil || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}
