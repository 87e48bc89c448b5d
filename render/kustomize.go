package render

import (
	"fmt"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Kustomization builds the kustomization in dir as `kustomize build dir`
// does, on the real file system with kustomize's default options (load
// restrictions to the kustomization root, no plugins).
func Kustomization(dir string) (Manifest, error) {
	file, ok := KustomizationFile(dir)
	if !ok {
		return Manifest{}, fmt.Errorf("%s: no kustomization file (%v)", dir, KustomizationFiles)
	}
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
