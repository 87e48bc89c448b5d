package subject

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// A tree holds the documents of a chunk of input compactly: a node is 20
// bytes, without pointers (so the garbage collector does not scan them),
// and a scalar's value is a view of the input when it was written as it
// reads. yaml.v3's node tree takes about 160 bytes a node and a string
// each; a manifest of a million nodes is read here in a seventh of that.

// nodeID names a node of a tree; noNode is none.
type nodeID int32

const noNode nodeID = -1

type nodeKind uint8

const (
	kindScalar nodeKind = iota + 1
	kindSequence
	kindMapping
	kindAlias
)

// tagKind is a node's tag: the common ones by number, others in the
// tree's otherTags. A plain scalar without a tag is tagPlain until asked:
// its tag is what yaml.v3 resolves its value to.
type tagKind uint8

const (
	tagPlain tagKind = iota
	tagNull
	tagStr
	tagMerge
	tagBinary
	tagSeq
	tagMap
	tagOther
)

var tagNames = map[string]tagKind{"!!null": tagNull, "!!str": tagStr, "!!merge": tagMerge, "!!binary": tagBinary, "!!seq": tagSeq, "!!map": tagMap}

// nodeCooked marks a value held in the tree's cooked buffer, not a view
// of the input.
const nodeCooked = 1

type node struct {
	kind   nodeKind
	tag    tagKind
	flags  uint8
	line   int32
	column int32
	// A scalar's value is src or cooked [a, a+b); an alias's target is
	// a; a collection's children are kids[a, a+b) (mappings: key, value,
	// key, value, ...).
	a, b uint32
}

// pageBits sizes the pages nodes are kept in (512 nodes, 10 KiB): growing
// the tree never copies it, and the tree of a small object stays small.
const pageBits = 9

type tree struct {
	pages     [][]node
	n         int
	kids      []nodeID
	src       string
	cooked    strings.Builder
	otherTags map[nodeID]string
}

func newTree(src string) *tree { return &tree{src: src} }

func (t *tree) node(id nodeID) *node { return &t.pages[id>>pageBits][id&(1<<pageBits-1)] }

func (t *tree) add(nd node) nodeID {
	if t.n>>pageBits == len(t.pages) {
		t.pages = append(t.pages, make([]node, 1<<pageBits))
	}
	id := nodeID(t.n)
	*t.node(id) = nd
	t.n++
	return id
}

func (t *tree) kind(id nodeID) nodeKind {
	if id == noNode {
		return 0
	}
	return t.node(id).kind
}

func (t *tree) line(id nodeID) int   { return int(t.node(id).line) }
func (t *tree) column(id nodeID) int { return int(t.node(id).column) }

// value is a scalar's value (an alias's anchor name is not kept).
func (t *tree) value(id nodeID) string {
	if id == noNode {
		return ""
	}
	nd := t.node(id)
	if nd.kind != kindScalar {
		return ""
	}
	if nd.flags&nodeCooked != 0 {
		return t.cooked.String()[nd.a : nd.a+nd.b]
	}
	return t.src[nd.a : nd.a+nd.b]
}

// setValue replaces a scalar's value.
func (t *tree) setValue(id nodeID, v string) {
	nd := t.node(id)
	nd.a, nd.b, nd.flags = uint32(t.cooked.Len()), uint32(len(v)), nd.flags|nodeCooked
	t.cooked.WriteString(v)
}

// content is a collection's children.
func (t *tree) content(id nodeID) []nodeID {
	if id == noNode {
		return nil
	}
	nd := t.node(id)
	if nd.kind != kindSequence && nd.kind != kindMapping {
		return nil
	}
	return t.kids[nd.a : nd.a+nd.b]
}

// deref follows an alias.
func (t *tree) deref(id nodeID) nodeID {
	if id != noNode && t.kind(id) == kindAlias {
		return nodeID(int32(t.node(id).a))
	}
	return id
}

// tag is the node's tag as yaml.v3 would have set it.
func (t *tree) tag(id nodeID) string {
	nd := t.node(id)
	switch nd.tag {
	case tagPlain:
		return (&yaml.Node{Kind: yaml.ScalarNode, Value: t.value(id)}).ShortTag()
	case tagOther:
		return t.otherTags[id]
	}
	return tagStrings[nd.tag]
}

var tagStrings = [...]string{tagNull: "!!null", tagStr: "!!str", tagMerge: "!!merge", tagBinary: "!!binary", tagSeq: "!!seq", tagMap: "!!map", tagOther: ""}

// isNull reports a null scalar.
func (t *tree) isNull(id nodeID) bool {
	if t.kind(id) != kindScalar {
		return false
	}
	nd := t.node(id)
	if nd.kind != kindScalar {
		return false
	}
	if nd.tag == tagPlain {
		switch t.value(id) {
		case "", "~", "null", "Null", "NULL":
			return true
		}
		return false
	}
	return nd.tag == tagNull
}

// isStr reports a string scalar.
func (t *tree) isStr(id nodeID) bool {
	if t.kind(id) != kindScalar {
		return false
	}
	nd := t.node(id)
	if nd.kind != kindScalar {
		return false
	}
	if nd.tag == tagPlain {
		return t.tag(id) == "!!str"
	}
	return nd.tag == tagStr
}

func (t *tree) setTag(id nodeID, tag string) {
	k, ok := tagNames[tag]
	if !ok {
		k = tagOther
		if t.otherTags == nil {
			t.otherTags = map[nodeID]string{}
		}
		t.otherTags[id] = tag
	}
	t.node(id).tag = k
}

// collection adds a sequence or mapping whose children are kids.
func (t *tree) setContent(id nodeID, kids []nodeID) {
	nd := t.node(id)
	nd.a, nd.b = uint32(len(t.kids)), uint32(len(kids))
	t.kids = append(t.kids, kids...)
}

// fromNode copies a yaml.v3 node tree into t, lines shifted by offset,
// and returns its root.
func (t *tree) fromNode(n *yaml.Node, offset int) nodeID {
	return t.converter(offset).convert(n)
}

// converter copies node trees into t; aliases may point at nodes of an
// earlier tree it copied (yaml.v3 keeps anchors from one document to the
// next).
func (t *tree) converter(offset int) *converter {
	return &converter{t: t, offset: offset, ids: map[*yaml.Node]nodeID{}, targets: map[*yaml.Node]bool{}}
}

// A converter remembers the ids of the nodes aliases point at (targets),
// only those: a tree decoded from JSON has none, and a map entry a node
// would cost more than the node.
type converter struct {
	t       *tree
	offset  int
	ids     map[*yaml.Node]nodeID
	targets map[*yaml.Node]bool
}

// findTargets adds the nodes n's aliases point at to c.targets, aliases
// not followed.
func (c *converter) findTargets(n *yaml.Node) {
	if n == nil {
		return
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		c.targets[n.Alias] = true
	}
	for _, k := range n.Content {
		c.findTargets(k)
	}
}

// convert copies n; an alias in it may point at a node converted before
// only when findTargets saw that alias first.
func (c *converter) convert(n *yaml.Node) nodeID {
	c.findTargets(n)
	return c.node(n)
}

func (c *converter) node(n *yaml.Node) nodeID {
	if n == nil {
		return noNode
	}
	if id, ok := c.ids[n]; ok {
		return id
	}
	t := c.t
	nd := node{line: int32(n.Line + c.offset), column: int32(n.Column)}
	if n.Line == 0 {
		nd.line = 0
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return noNode
		}
		return c.node(n.Content[0])
	case yaml.ScalarNode:
		nd.kind = kindScalar
	case yaml.SequenceNode:
		nd.kind = kindSequence
	case yaml.MappingNode:
		nd.kind = kindMapping
	case yaml.AliasNode:
		nd.kind = kindAlias
	default:
		return noNode
	}
	id := t.add(nd)
	if c.targets[n] {
		c.ids[n] = id // aliases keep pointing at the same node, cycles included
	}
	switch n.Kind {
	case yaml.ScalarNode:
		t.setValue(id, n.Value)
		t.setTag(id, n.Tag)
	case yaml.AliasNode:
		t.node(id).a = uint32(c.node(n.Alias)) // noNode when it points at nothing
	default:
		t.setTag(id, n.Tag)
		kids := make([]nodeID, len(n.Content))
		for i, k := range n.Content {
			kids[i] = c.node(k)
		}
		t.setContent(id, kids)
	}
	return id
}
