package crd

import (
	"encoding/json"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// Marshal writes a CRD as a YAML document under a comment header,
// without the fields the API server fills in (status, creation time).
func Marshal(crd *apiextensionsv1.CustomResourceDefinition, header string) ([]byte, error) {
	raw, err := json.Marshal(crd)
	if err != nil {
		return nil, fmt.Errorf("writing CRD %s: %w", crd.Name, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("writing CRD %s: %w", crd.Name, err)
	}
	delete(m, "status")
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("writing CRD %s: %w", crd.Name, err)
	}
	return append([]byte(header), out...), nil
}
