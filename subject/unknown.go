package subject

import "strconv"

// notJudged are groups whose objects hold container lists that ship
// nothing: policies written as patterns of pods.
var notJudged = map[string]bool{"kyverno.io": true, "baseguard.dev": true}

// containerLists are the keys that hold a pod spec's containers.
var containerLists = map[string]bool{"containers": true, "initContainers": true, "ephemeralContainers": true}

// noticeUnknown tells opt.OnNotice of an object of a kind baseguard does
// not know that holds a container list anywhere.
func (d doc) noticeUnknown(n nodeID, tm typeMeta, opt Options) error {
	if opt.OnNotice == nil || notJudged[GroupOf(tm.apiVersion)] {
		return nil
	}
	field := d.findContainerList(n, "", nodeSet{})
	if field == "" {
		return nil
	}
	res, err := d.newResource(n, tm, Options{})
	if err != nil {
		return err
	}
	opt.OnNotice(Notice{File: d.file, Line: d.t.line(n), APIVersion: tm.apiVersion, Kind: tm.kind, Name: res.Name, Field: field})
	return nil
}

// findContainerList returns the path of the first non-empty list under a
// container-list key, aliases and merge keys followed, each node visited
// once; "" when there is none.
func (d doc) findContainerList(n nodeID, path string, seen nodeSet) string {
	t := d.t
	n = t.deref(n)
	if n == noNode || !seen.add(n) {
		return ""
	}
	switch t.kind(n) {
	case kindMapping:
		kids := t.content(n)
		for i := 0; i+1 < len(kids); i += 2 {
			k, v := t.deref(kids[i]), t.deref(kids[i+1])
			if k == noNode || v == noNode {
				continue
			}
			if t.kind(v) == kindScalar {
				continue
			}
			p := t.value(k)
			if path != "" {
				p = path + "." + p
			}
			if d.isMerge(k) {
				p = path
			}
			if containerLists[t.value(k)] && t.kind(v) == kindSequence && len(t.content(v)) > 0 {
				return p
			}
			if f := d.findContainerList(v, p, seen); f != "" {
				return f
			}
		}
	case kindSequence:
		for i, c := range t.content(n) {
			if f := d.findContainerList(c, path+"["+strconv.Itoa(i)+"]", seen); f != "" {
				return f
			}
		}
	}
	return ""
}

// nodeSet is a set of nodes, a bit each in words of 64 nodes: an
// object's nodes are numbered close together, so it takes memory for the
// nodes visited, not for the whole tree.
type nodeSet map[nodeID]uint64

// add adds n and reports whether it was new.
func (s nodeSet) add(n nodeID) bool {
	w, bit := n/64, uint64(1)<<(n%64)
	if s[w]&bit != 0 {
		return false
	}
	s[w] |= bit
	return true
}
