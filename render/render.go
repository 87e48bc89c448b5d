package render

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
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

// DefaultTimeout bounds one render when its options set no Timeout: real
// charts and kustomizations render in well under a second, remote bases
// included.
const DefaultTimeout = time.Minute

// within runs render, giving up after timeout (DefaultTimeout when not
// positive) with an error naming what: a chart's templates and a
// kustomization's build cannot be interrupted, so one that does not end is
// left to run on, and whoever called should end soon after. A panic while
// rendering is an error too, never a crash.
func within[T any](timeout time.Duration, what string, render func() (T, error)) (T, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("%s: internal error while rendering: %v", what, r)}
			}
		}()
		v, err := render()
		done <- result{v, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-done:
		return r.v, r.err
	case <-t.C:
		var zero T
		return zero, fmt.Errorf("%s: rendering took longer than %s (a template or base that does not end?); gave up", what, timeout)
	}
}
