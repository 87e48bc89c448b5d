package render

import (
	"fmt"
	"os"
	"path/filepath"
)

// MaxOutputBytes bounds what one kustomization or chart may render: far
// above any real release, far below what would exhaust memory.
const MaxOutputBytes = 64 << 20

// Manifest is rendered YAML and where it comes from: the kustomization
// file, or the chart template that produced it.
type Manifest struct {
	Source string
	Data   []byte
}

// KustomizationFiles are the names kustomize looks for in a directory, in
// its order.
var KustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// KustomizationFile returns the kustomization file of dir, if it has one.
func KustomizationFile(dir string) (string, bool) {
	for _, name := range KustomizationFiles {
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() {
			return p, true
		}
	}
	return "", false
}

// IsChart reports whether dir is a Helm chart (holds a Chart.yaml).
func IsChart(dir string) bool {
	info, err := os.Stat(filepath.Join(dir, "Chart.yaml"))
	return err == nil && info.Mode().IsRegular()
}

// checkSize refuses output past MaxOutputBytes.
func checkSize(what string, n int) error {
	if n > MaxOutputBytes {
		return fmt.Errorf("%s renders more than %d MiB", what, MaxOutputBytes>>20)
	}
	return nil
}
