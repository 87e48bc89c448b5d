package admission

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// An admission request carries its objects as JSON, and subject.ReadObject
// reads YAML nodes. objectTree turns an object into the node tree of every
// key and value it holds, the whole object, so that whatever subject reads
// (pod templates of any registered kind, image volumes, containers of
// unknown kinds) is there to read. Keys keep their case: `Image` is not
// `image`, as kube-apiserver's case-sensitive decoder has it. A key given
// twice in one object is an error (kube-apiserver never sends one; a
// decoder would keep the last, a node tree the first).
//
// The tree is built in one pass over text that the review's decoding has
// already checked to be JSON, its nodes taken from one slab sized by
// countValues, and its strings shared with one copy of the object: a few
// allocations per object instead of one per value (a YAML parse of the same
// object costs more than the rest of a review).

// nodeBytes is what a tree spends per value: a yaml.Node and its place in
// its parent's Content.
const nodeBytes = 160

// errDuplicateKey is wrapped by the error of an object with a key twice in
// one mapping.
var errDuplicateKey = errors.New("duplicate key")

// countValues returns an upper bound on the nodes of raw's tree, keys
// included: every node but the root follows one of `{`, `[`, `,` or `:`
// outside a string. It reads raw once, without allocating.
func countValues(raw []byte) int {
	n, inString := 1, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[', ',', ':':
			n++
		}
	}
	return n
}

// slab holds the nodes of a tree and their Content slices. One slab serves
// both objects of an UPDATE, one after the other: a review holds one tree
// at a time.
type slab struct {
	nodes   []yaml.Node
	content []*yaml.Node
}

// Slabs are kept for reuse in sizes of powers of two from minSlab to
// maxPooledSlab nodes: an ordinary object holds a few hundred values; a
// rare huge one gets a slab of its own, left to the collector.
const (
	minSlab       = 512
	maxPooledSlab = 8192
)

var slabs [4]sync.Pool // of *slab: minSlab, 2×, 4×, 8× nodes

// slabNodes is the size of the slab for trees of values nodes.
func slabNodes(values int) int {
	if values > maxPooledSlab {
		return values
	}
	n := minSlab
	for n < values {
		n *= 2
	}
	return n
}

// getSlab returns a slab for trees of up to values nodes; putSlab gives it
// back once no tree built in it is used.
func getSlab(values int) *slab {
	n := slabNodes(values)
	if n <= maxPooledSlab {
		if s, ok := slabs[bits.Len(uint(n/minSlab))-1].Get().(*slab); ok {
			return s
		}
	}
	return &slab{nodes: make([]yaml.Node, n), content: make([]*yaml.Node, n)}
}

func putSlab(s *slab) {
	if n := len(s.nodes); n <= maxPooledSlab {
		clear(s.content) // drop the last tree's nodes' pointers
		slabs[bits.Len(uint(n/minSlab))-1].Put(s)
	}
}

// objectTree returns raw's node tree, built in s; values is
// countValues(raw), at most len(s.nodes). The tree is valid until s is
// used again.
func objectTree(raw []byte, values int, s *slab) (*yaml.Node, error) {
	b := &treeBuilder{s: string(raw), nodes: s.nodes[:values], content: s.content[:values]}
	n, err := b.value()
	if err != nil {
		return nil, err
	}
	if b.skipSpace(); b.pos != len(b.s) {
		return nil, b.errorf("unexpected %q after the object", b.s[b.pos])
	}
	return n, nil
}

// treeBuilder reads one JSON value into nodes.
type treeBuilder struct {
	s   string
	pos int
	// nodes and content are the slabs nodes and their Content slices are
	// taken from; pending holds the children of the containers being read.
	nodes   []yaml.Node
	content []*yaml.Node
	pending []*yaml.Node
}

func (b *treeBuilder) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: %s", b.pos, fmt.Sprintf(format, args...))
}

func (b *treeBuilder) node(kind yaml.Kind, tag, value string) (*yaml.Node, error) {
	if len(b.nodes) == 0 {
		return nil, b.errorf("more values than counted")
	}
	n := &b.nodes[0]
	b.nodes = b.nodes[1:]
	*n = yaml.Node{Kind: kind, Tag: tag, Value: value} // a reused slab holds old nodes
	return n, nil
}

func (b *treeBuilder) skipSpace() {
	for b.pos < len(b.s) {
		switch b.s[b.pos] {
		case ' ', '\t', '\n', '\r':
			b.pos++
		default:
			return
		}
	}
}

func (b *treeBuilder) value() (*yaml.Node, error) {
	b.skipSpace()
	if b.pos >= len(b.s) {
		return nil, b.errorf("unexpected end")
	}
	switch c := b.s[b.pos]; {
	case c == '{':
		return b.container(yaml.MappingNode, "!!map", '}')
	case c == '[':
		return b.container(yaml.SequenceNode, "!!seq", ']')
	case c == '"':
		s, err := b.str()
		if err != nil {
			return nil, err
		}
		return b.node(yaml.ScalarNode, "!!str", s)
	case c == 't':
		return b.literal("true", "!!bool")
	case c == 'f':
		return b.literal("false", "!!bool")
	case c == 'n':
		return b.literal("null", "!!null")
	case c == '-' || ('0' <= c && c <= '9'):
		return b.number()
	default:
		return nil, b.errorf("unexpected %q", c)
	}
}

func (b *treeBuilder) literal(word, tag string) (*yaml.Node, error) {
	if len(b.s)-b.pos < len(word) || b.s[b.pos:b.pos+len(word)] != word {
		return nil, b.errorf("want %s", word)
	}
	b.pos += len(word)
	return b.node(yaml.ScalarNode, tag, word)
}

// number keeps a number as written: !!int when it is a plain integer.
func (b *treeBuilder) number() (*yaml.Node, error) {
	start, tag := b.pos, "!!int"
	for ; b.pos < len(b.s); b.pos++ {
		c := b.s[b.pos]
		if c == '.' || c == 'e' || c == 'E' || c == '+' {
			tag = "!!float"
		} else if c != '-' && (c < '0' || c > '9') {
			break
		}
	}
	return b.node(yaml.ScalarNode, tag, b.s[start:b.pos])
}

// str reads a string: a slice of the object's copy when it holds no escape
// and is valid UTF-8, else decoded as encoding/json decodes it (escapes,
// surrogate pairs, invalid bytes replaced), as kube-apiserver does.
func (b *treeBuilder) str() (string, error) {
	start := b.pos
	b.pos++
	escaped, nonASCII := false, false
	for b.pos < len(b.s) {
		switch c := b.s[b.pos]; {
		case c == '"':
			b.pos++
			raw := b.s[start+1 : b.pos-1]
			if !escaped && (!nonASCII || utf8.ValidString(raw)) {
				return raw, nil
			}
			var s string
			if err := json.Unmarshal([]byte(b.s[start:b.pos]), &s); err != nil {
				return "", b.errorf("reading a string: %v", err)
			}
			return s, nil
		case c == '\\':
			escaped = true
			b.pos += 2
		case c < 0x20:
			return "", b.errorf("control character in a string")
		default:
			if c >= utf8.RuneSelf {
				nonASCII = true
			}
			b.pos++
		}
	}
	return "", b.errorf("unterminated string")
}

// container reads a mapping or a sequence up to its closing byte.
func (b *treeBuilder) container(kind yaml.Kind, tag string, end byte) (*yaml.Node, error) {
	n, err := b.node(kind, tag, "")
	if err != nil {
		return nil, err
	}
	b.pos++
	first := len(b.pending)
	for i := 0; ; i++ {
		b.skipSpace()
		if b.pos < len(b.s) && b.s[b.pos] == end && i == 0 {
			b.pos++
			break
		}
		if err := b.member(kind); err != nil {
			return nil, err
		}
		b.skipSpace()
		if b.pos >= len(b.s) {
			return nil, b.errorf("unexpected end")
		}
		if c := b.s[b.pos]; c == end {
			b.pos++
			break
		} else if c != ',' {
			return nil, b.errorf("unexpected %q", c)
		}
		b.pos++
	}
	n.Content = b.take(first)
	if kind == yaml.MappingNode {
		if err := checkKeys(n.Content); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// member reads one key and value of a mapping, or one item of a sequence,
// onto pending.
func (b *treeBuilder) member(kind yaml.Kind) error {
	if kind == yaml.MappingNode {
		b.skipSpace()
		if b.pos >= len(b.s) || b.s[b.pos] != '"' {
			return b.errorf("want a key")
		}
		k, err := b.str()
		if err != nil {
			return err
		}
		key, err := b.node(yaml.ScalarNode, "!!str", k)
		if err != nil {
			return err
		}
		if b.skipSpace(); b.pos >= len(b.s) || b.s[b.pos] != ':' {
			return b.errorf("want ':'")
		}
		b.pos++
		b.pending = append(b.pending, key)
	}
	v, err := b.value()
	if err != nil {
		return err
	}
	b.pending = append(b.pending, v)
	return nil
}

// take moves pending[first:] into the content slab.
func (b *treeBuilder) take(first int) []*yaml.Node {
	k := len(b.pending) - first
	if k == 0 {
		return nil
	}
	if k > len(b.content) { // never with countValues' bound; stay correct anyway
		b.content = make([]*yaml.Node, k)
	}
	out := b.content[:k:k]
	b.content = b.content[k:]
	copy(out, b.pending[first:])
	clear(b.pending[first:])
	b.pending = b.pending[:first]
	return out
}

// smallMapping is the size up to which keys are compared pairwise.
const smallMapping = 16

// checkKeys refuses a mapping that holds a key twice.
func checkKeys(content []*yaml.Node) error {
	if len(content) <= 2*smallMapping {
		for i := 0; i < len(content); i += 2 {
			for j := i + 2; j < len(content); j += 2 {
				if content[i].Value == content[j].Value {
					return fmt.Errorf("%w %q", errDuplicateKey, content[i].Value)
				}
			}
		}
		return nil
	}
	seen := make(map[string]struct{}, len(content)/2)
	for i := 0; i < len(content); i += 2 {
		if _, dup := seen[content[i].Value]; dup {
			return fmt.Errorf("%w %q", errDuplicateKey, content[i].Value)
		}
		seen[content[i].Value] = struct{}{}
	}
	return nil
}
