package subject

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Kubernetes reads a manifest by converting it to JSON (kubectl, Helm and
// Argo CD alike): a key written twice keeps its last value there, a merge
// key (`<<`) is expanded, a `!!binary` scalar becomes the bytes it encodes.
// normalize makes a document tree read the same way, or refuses it where
// tools disagree on what it means.

// mergeKey is the YAML 1.1 merge key.
const mergeKey = "<<"

// maxMergeDepth bounds merge keys followed through merged mappings (and
// cycles of them, which anchors allow).
const maxMergeDepth = 32

// smallMapping is the size up to which a mapping's keys are compared
// with each other rather than looked up in a map.
const smallMapping = 16

// doc is a document being read: its file and tree.
type doc struct {
	file string
	t    *tree
}

func (d doc) errorf(n nodeID, format string, args ...any) *Error {
	return &Error{File: d.file, Line: d.t.line(n), Msg: fmt.Sprintf(format, args...)}
}

// normalize checks every mapping of a document once (aliases are not
// followed: what they point at is checked where it is written): keys are
// strings, none is written twice, merge keys merge mappings. !!binary
// scalars are decoded in place.
func (d doc) normalize(n nodeID) error {
	switch d.t.kind(n) {
	case kindSequence:
		for _, c := range d.t.content(n) {
			if err := d.normalize(c); err != nil {
				return err
			}
		}
	case kindMapping:
		return d.normalizeMapping(n)
	case kindScalar:
		return d.decodeBinary(n)
	}
	return nil
}

func (d doc) normalizeMapping(n nodeID) error {
	t := d.t
	kids := t.content(n)
	var seen map[string]int
	if len(kids) > 2*smallMapping {
		seen = make(map[string]int, len(kids)/2)
	}
	for i := 0; i+1 < len(kids); i += 2 {
		k, v := kids[i], kids[i+1]
		if err := d.normalize(k); err != nil {
			return err
		}
		key := t.deref(k)
		if t.kind(key) != kindScalar {
			return d.errorf(k, "a mapping key must be a string")
		}
		if d.isMerge(key) {
			if err := d.checkMergeValue(v); err != nil {
				return err
			}
		}
		name := t.value(key)
		if prev, ok := d.seenKey(kids, i, name, seen); ok {
			return d.errorf(k, "key %q is written twice (also on line %d): Kubernetes would keep the last, so the manifest is refused", name, prev)
		}
		if seen != nil {
			seen[name] = t.line(k)
		}
		if err := d.normalize(v); err != nil {
			return err
		}
	}
	return nil
}

// seenKey finds the line of an earlier key name among the first i
// children of a mapping.
func (d doc) seenKey(kids []nodeID, i int, name string, seen map[string]int) (int, bool) {
	if seen != nil {
		line, ok := seen[name]
		return line, ok
	}
	for j := 0; j < i; j += 2 {
		if d.t.value(d.t.deref(kids[j])) == name {
			return d.t.line(kids[j]), true
		}
	}
	return 0, false
}

// isMerge reports a merge key: a plain `<<` or one tagged !!merge (a quoted
// or !!str-tagged "<<" is an ordinary key).
func (d doc) isMerge(k nodeID) bool {
	return d.t.kind(k) == kindScalar && d.t.node(k).tag == tagMerge && d.t.value(k) == mergeKey
}

// checkMergeValue accepts what a merge key may merge: a mapping, or a list
// of mappings (directly or through aliases).
func (d doc) checkMergeValue(v nodeID) error {
	t := d.t
	dv := t.deref(v)
	if t.kind(dv) == kindSequence {
		for _, c := range t.content(dv) {
			if t.kind(t.deref(c)) != kindMapping {
				return d.errorf(c, "a merge key (<<) merges mappings only")
			}
		}
		return nil
	}
	if t.kind(dv) != kindMapping {
		return d.errorf(v, "a merge key (<<) merges mappings only")
	}
	return nil
}

// decodeBinary replaces a !!binary scalar's base64 text by what it encodes,
// as the YAML-to-JSON conversion of kubectl does.
func (d doc) decodeBinary(n nodeID) error {
	if d.t.node(n).tag != tagBinary {
		return nil
	}
	text := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, d.t.value(n))
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return d.errorf(n, "a !!binary scalar is not valid base64")
	}
	d.t.setValue(n, asJSONString(b))
	d.t.node(n).tag = tagStr
	return nil
}

// asJSONString is b as a JSON string carries it: each byte that is not
// part of valid UTF-8 becomes U+FFFD, as encoding/json writes it when
// kubectl's converter turns the decoded bytes into JSON.
func asJSONString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var out strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			out.WriteRune(utf8.RuneError)
		} else {
			out.Write(b[:size])
		}
		b = b[size:]
	}
	return out.String()
}

// lookup returns the value of key in a mapping, merge keys included, or
// noNode. Where the YAML specification and Kubernetes' converter disagree
// (a key written before a merge key that merges the same key: the
// specification keeps the written one, kubectl the merged one), lookup
// refuses to choose.
func (d doc) lookup(n nodeID, key string) (nodeID, error) {
	return d.lookupDepth(n, key, 0, nil)
}

// lookupDepth looks key up in n and, through merge keys, in the mappings
// it merges. Each merged mapping is searched once per lookup (visited):
// anchors let a small document merge one mapping exponentially often.
func (d doc) lookupDepth(n nodeID, key string, depth int, visited map[nodeID]bool) (nodeID, error) {
	t := d.t
	n = t.deref(n)
	if t.kind(n) != kindMapping {
		return noNode, nil
	}
	if depth > 0 {
		if visited == nil {
			visited = map[nodeID]bool{}
		}
		if visited[n] {
			return noNode, nil // searched already, without finding key
		}
		visited[n] = true
	}
	if depth > maxMergeDepth {
		return noNode, d.errorf(n, "merge keys nested more than %d deep", maxMergeDepth)
	}
	kids := t.content(n)
	explicit := noNode
	for i := 0; i+1 < len(kids); i += 2 {
		k := t.deref(kids[i])
		if k == noNode {
			continue
		}
		if !d.isMerge(k) {
			if t.value(k) == key {
				explicit = t.deref(kids[i+1])
			}
			continue
		}
		if visited == nil {
			visited = map[nodeID]bool{}
		}
		merged, err := d.lookupMerged(kids[i+1], key, depth, visited)
		if err != nil {
			return noNode, err
		}
		if merged != noNode && explicit != noNode {
			return noNode, d.errorf(k, "key %q is written before a merge key (<<) that merges it too: tools disagree on which wins, so the manifest is refused", key)
		}
		if merged != noNode && explicit == noNode && !d.hasKeyAfter(kids, i, key) {
			return merged, nil
		}
	}
	return explicit, nil
}

// hasKeyAfter reports whether key is written in a mapping after pair i.
func (d doc) hasKeyAfter(kids []nodeID, i int, key string) bool {
	for j := i + 2; j+1 < len(kids); j += 2 {
		if k := d.t.deref(kids[j]); k != noNode && !d.isMerge(k) && d.t.value(k) == key {
			return true
		}
	}
	return false
}

// lookupMerged finds key in a merge key's value: the first mapping of a
// list that has it wins.
func (d doc) lookupMerged(v nodeID, key string, depth int, visited map[nodeID]bool) (nodeID, error) {
	v = d.t.deref(v)
	if v == noNode {
		return noNode, nil
	}
	if d.t.kind(v) != kindSequence {
		return d.lookupDepth(v, key, depth+1, visited)
	}
	for _, m := range d.t.content(v) {
		got, err := d.lookupDepth(m, key, depth+1, visited)
		if got != noNode || err != nil {
			return got, err
		}
	}
	return noNode, nil
}

// pairs returns a mapping's key-value pairs, merged ones included, in the
// order Kubernetes would see the keys (written keys win over merged ones).
func (d doc) pairs(n nodeID) ([][2]nodeID, error) {
	t := d.t
	n = t.deref(n)
	if t.kind(n) != kindMapping {
		return nil, nil
	}
	var out [][2]nodeID
	seen := map[string]bool{}
	collected := map[nodeID]bool{}
	var collect func(m nodeID, depth int) error
	collect = func(m nodeID, depth int) error {
		m = t.deref(m)
		if t.kind(m) != kindMapping || collected[m] {
			return nil
		}
		collected[m] = true
		if depth > maxMergeDepth {
			return d.errorf(m, "merge keys nested more than %d deep", maxMergeDepth)
		}
		kids := t.content(m)
		for i := 0; i+1 < len(kids); i += 2 {
			k := t.deref(kids[i])
			if k == noNode || d.isMerge(k) || seen[t.value(k)] {
				continue
			}
			seen[t.value(k)] = true
			v, err := d.lookupDepth(m, t.value(k), depth, nil)
			if err != nil {
				return err
			}
			out = append(out, [2]nodeID{k, v})
		}
		for i := 0; i+1 < len(kids); i += 2 {
			if k := t.deref(kids[i]); k != noNode && d.isMerge(k) {
				srcs := []nodeID{kids[i+1]}
				if s := t.deref(kids[i+1]); t.kind(s) == kindSequence {
					srcs = t.content(s)
				}
				for _, s := range srcs {
					if err := collect(s, depth+1); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return out, collect(n, 0)
}
