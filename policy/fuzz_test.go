package policy_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/baseguard/baseguard/policy"
)

// FuzzLoad: no policy document, however malformed, panics the loader;
// whatever loads also compiles or is refused with an error.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "examples", "policies", "*.yaml"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nspec: {rules: [{name: a, validate: {pattern: {spec: {containers: [{image: '!*:latest & !x'}]}}}}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := policy.Load(policy.File{Name: "f.yaml", Data: data})
		if err != nil {
			return
		}
		if set, err := policy.NewSet(ps); err == nil {
			for _, p := range set.Policies() {
				policy.Lint(p)
			}
		}
	})
}
