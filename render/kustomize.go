package render

import (
	"fmt"
	"time"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// KustomizationOptions say how a kustomization is built.
type KustomizationOptions struct {
	// Timeout bounds the build, remote bases fetched included
	// (DefaultTimeout when zero).
	Timeout time.Duration
}

// Kustomization builds the kustomization in dir as `kustomize build dir`
// does, on the real file system with kustomize's default options (load
// restrictions to the kustomization root, no plugins; remote bases are
// fetched as kustomize fetches them), within opt.Timeout.
func Kustomization(dir string, opt KustomizationOptions) (Manifest, error) {
	file, ok := KustomizationFile(dir)
	if !ok {
		return Manifest{}, fmt.Errorf("%s: no kustomization file (%v)", dir, KustomizationFiles)
	}
	return within(opt.Timeout, "kustomization "+dir, func() (Manifest, error) { return kustomize(dir, file) })
}

// kustomize builds the kustomization in dir, whose file is file.
func kustomize(dir, file string) (Manifest, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return Manifest{}, fmt.Errorf("building kustomization %s: %w", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		return Manifest{}, fmt.Errorf("building kustomization %s: %w", dir, err)
	}
	if err := checkSize("kustomization "+dir, len(out)); err != nil {
		return Manifest{}, err
	}
	return Manifest{Source: file, Data: out}, nil
}
