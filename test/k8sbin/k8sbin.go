// Package k8sbin finds the Kubernetes binaries that hack/k8s-binaries.sh
// builds (etcd, kube-apiserver, kubectl), for the tests that run them.
package k8sbin

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// Find returns the first directory that holds every one of names: first
// $KUBEBUILDER_ASSETS, then hack/k8s-binaries.sh's cache
// ($BASEGUARD_CACHE, else ~/.cache/baseguard, then k8s/*/bin). The error
// says where it looked and how to build them.
func Find(names ...string) (string, error) {
	var candidates []string
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		candidates = append(candidates, d)
	}
	cache := os.Getenv("BASEGUARD_CACHE")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache", "baseguard")
		}
	}
	pattern := filepath.Join(cache, "k8s", "*", "bin")
	found, _ := filepath.Glob(pattern)
	for _, d := range append(candidates, found...) {
		if holdsAll(d, names) {
			return d, nil
		}
	}
	return "", errors.New(strings.Join(names, ", ") + " not found in $KUBEBUILDER_ASSETS or " + pattern + ": run hack/k8s-binaries.sh")
}

func holdsAll(dir string, names []string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return false
		}
	}
	return true
}
