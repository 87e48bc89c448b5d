package subject

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// notJudged are groups whose objects hold container lists that ship
// nothing: policies written as patterns of pods.
var notJudged = map[string]bool{"kyverno.io": true, "baseguard.dev": true}

// containerLists are the keys that hold a pod spec's containers.
var containerLists = map[string]bool{"containers": true, "initContainers": true, "ephemeralContainers": true}

// noticeUnknown tells opt.OnNotice of an object of a kind baseguard does
// not know that holds a container list anywhere.
func noticeUnknown(file string, n *yaml.Node, tm typeMeta, opt Options) error {
	if opt.OnNotice == nil || notJudged[GroupOf(tm.apiVersion)] {
		return nil
	}
	field := findContainerList(n, "", map[*yaml.Node]bool{})
	if field == "" {
		return nil
	}
	res, err := newResource(file, n, tm, Options{})
	if err != nil {
		return err
	}
	opt.OnNotice(Notice{File: file, Line: n.Line, APIVersion: tm.apiVersion, Kind: tm.kind, Name: res.Name, Field: field})
	return nil
}

// findContainerList returns the path of the first non-empty list under a
// container-list key, aliases and merge keys followed, each node visited
// once; "" when there is none.
func findContainerList(n *yaml.Node, path string, seen map[*yaml.Node]bool) string {
	n = deref(n)
	if n == nil || seen[n] {
		return ""
	}
	seen[n] = true
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := deref(n.Content[i]), deref(n.Content[i+1])
			if k == nil || v == nil {
				continue
			}
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if isMerge(k) {
				p = path
			}
			if containerLists[k.Value] && v.Kind == yaml.SequenceNode && len(v.Content) > 0 {
				return p
			}
			if f := findContainerList(v, p, seen); f != "" {
				return f
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if f := findContainerList(c, path+"["+strconv.Itoa(i)+"]", seen); f != "" {
				return f
			}
		}
	}
	return ""
}
