package subject

import "go.yaml.in/yaml/v3"

// yamlNode is a parsed YAML document for tests.
type yamlNode struct{ n yaml.Node }

func (y *yamlNode) parse(src string) error { return yaml.Unmarshal([]byte(src), &y.n) }
func (y *yamlNode) root() *yaml.Node       { return y.n.Content[0] }
