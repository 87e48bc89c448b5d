package subject

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The YAML parser: tokens to a tree, one document at a time, following
// yaml.v3's parser state by state (its error marks included), and the
// node positions, tags and anchors yaml.v3's decoder gives a yaml.Node.

type tagDirective struct{ handle, prefix string }

var defaultTagDirectives = []tagDirective{{"!", "!"}, {"!!", "tag:yaml.org,2002:"}}

// yamlParser reads the documents of one stream (a chunk) into one tree:
// anchors stay defined from one document to the next, as in yaml.v3.
type yamlParser struct {
	s        *scanner
	t        *tree
	offset   int // added to every line
	started  bool
	implicit bool
	done     bool
	tags     []tagDirective
	anchors  map[string]nodeID
	pending  []nodeID
	err      *yamlError
}

// maxStreamBytes bounds what one parser reads: the tree keeps offsets
// into it, and node numbers, in 32 bits.
const maxStreamBytes = 1 << 30

// newYAMLParser parses src, whose first line is line offset+1 of its file.
func newYAMLParser(src string, offset int) (*yamlParser, *yamlError) {
	if len(src) > maxStreamBytes {
		return nil, &yamlError{own: true, problem: fmt.Sprintf("a document of more than %d MiB", maxStreamBytes>>20)}
	}
	text, err := decodeStream(src)
	if err != nil {
		return nil, err
	}
	if len(text) > maxStreamBytes { // UTF-16 grows as UTF-8
		return nil, &yamlError{own: true, problem: fmt.Sprintf("a document of more than %d MiB", maxStreamBytes>>20)}
	}
	return &yamlParser{s: newScanner(text), t: newTree(text), offset: offset, anchors: map[string]nodeID{}}, nil
}

// next parses the next document: its root, or done at the end.
func (p *yamlParser) next() (root nodeID, done bool, err *yamlError) {
	if p.done {
		return noNode, true, nil
	}
	root, done = p.document()
	if p.err == nil && p.s.err != nil {
		p.err = p.s.err
	}
	if p.err != nil {
		p.done = true
		return noNode, true, p.err
	}
	p.done = done
	return root, done, nil
}

func (p *yamlParser) peek() *token {
	if p.err != nil {
		return nil
	}
	t := p.s.peek()
	if t == nil {
		p.err = p.s.err
	}
	return t
}

func (p *yamlParser) fail(context string, contextMark mark, problem string, problemMark mark) {
	if p.err == nil {
		p.err = &yamlError{context: context, contextMark: contextMark, problem: problem, problemMark: problemMark}
	}
}

func (p *yamlParser) document() (nodeID, bool) {
	if !p.started {
		tok := p.peek()
		if tok == nil {
			return noNode, true
		}
		if tok.kind != tokStreamStart {
			p.fail("", mark{}, "did not find expected <stream-start>", tok.start)
			return noNode, true
		}
		p.s.consume()
		p.started, p.implicit = true, true
	}
	tok := p.peek()
	if tok == nil {
		return noNode, true
	}
	implicit := p.implicit
	p.implicit = false
	if !implicit {
		for tok.kind == tokDocumentEnd {
			p.s.consume()
			if tok = p.peek(); tok == nil {
				return noNode, true
			}
		}
	}
	var root nodeID
	switch {
	case implicit && tok.kind != tokVersionDirective && tok.kind != tokTagDirective && tok.kind != tokDocumentStart && tok.kind != tokStreamEnd:
		if !p.directives() {
			return noNode, true
		}
		root = p.parseNode(true, false)
	case tok.kind != tokStreamEnd:
		if !p.directives() {
			return noNode, true
		}
		if tok = p.peek(); tok == nil {
			return noNode, true
		}
		if tok.kind != tokDocumentStart {
			p.fail("", mark{}, "did not find expected <document start>", tok.start)
			return noNode, true
		}
		p.s.consume()
		if tok = p.peek(); tok == nil {
			return noNode, true
		}
		switch tok.kind {
		case tokVersionDirective, tokTagDirective, tokDocumentStart, tokDocumentEnd, tokStreamEnd:
			root = p.emptyScalar(tok.start)
		default:
			root = p.parseNode(true, false)
		}
	default:
		p.s.consume()
		return noNode, true
	}
	if p.err != nil {
		return noNode, true
	}
	if tok = p.peek(); tok == nil {
		return noNode, true
	}
	if tok.kind == tokDocumentEnd {
		p.s.consume()
	}
	p.tags = p.tags[:0]
	return root, false
}

// directives reads a document's %YAML and %TAG directives.
func (p *yamlParser) directives() bool {
	tok := p.peek()
	version := false
	for tok != nil && (tok.kind == tokVersionDirective || tok.kind == tokTagDirective) {
		if tok.kind == tokVersionDirective {
			if version {
				p.fail("", mark{}, "found duplicate %YAML directive", tok.start)
				return false
			}
			if tok.major != 1 || tok.minor != 1 {
				p.fail("", mark{}, "found incompatible YAML document", tok.start)
				return false
			}
			version = true
		} else if !p.addTagDirective(tagDirective{tok.value, tok.suffix}, false, tok.start) {
			return false
		}
		p.s.consume()
		tok = p.peek()
	}
	if tok == nil {
		return false
	}
	for _, d := range defaultTagDirectives {
		p.addTagDirective(d, true, tok.start)
	}
	return true
}

func (p *yamlParser) addTagDirective(d tagDirective, allowDuplicates bool, m mark) bool {
	for _, have := range p.tags {
		if have.handle == d.handle {
			if allowDuplicates {
				return true
			}
			p.fail("", mark{}, "found duplicate %TAG directive", m)
			return false
		}
	}
	p.tags = append(p.tags, d)
	return true
}

// newNode adds a node at m.
func (p *yamlParser) newNode(kind nodeKind, m mark) nodeID {
	return p.t.add(node{kind: kind, line: int32(m.line + 1 + p.offset), column: int32(m.column + 1)})
}

func (p *yamlParser) emptyScalar(m mark) nodeID {
	return p.newNode(kindScalar, m) // value "", tag resolved from it: null
}

// parseNode parses a node: an alias, or a scalar or collection with its
// anchor and tag.
func (p *yamlParser) parseNode(block, indentless bool) nodeID {
	tok := p.peek()
	if tok == nil {
		return noNode
	}
	if tok.kind == tokAlias {
		return p.alias(tok)
	}
	start := tok.start
	var anchor string
	var tagMark mark
	var handle, suffix string
	hasTag := false
	takeTag := func(t *token) {
		hasTag, handle, suffix, tagMark = true, t.value, t.suffix, t.start
	}
	switch tok.kind {
	case tokAnchor:
		anchor = tok.value
		p.s.consume()
		if tok = p.peek(); tok == nil {
			return noNode
		}
		if tok.kind == tokTag {
			takeTag(tok)
			p.s.consume()
			if tok = p.peek(); tok == nil {
				return noNode
			}
		}
	case tokTag:
		takeTag(tok)
		p.s.consume()
		if tok = p.peek(); tok == nil {
			return noNode
		}
		if tok.kind == tokAnchor {
			anchor = tok.value
			p.s.consume()
			if tok = p.peek(); tok == nil {
				return noNode
			}
		}
	}
	var tag string
	if hasTag {
		var ok bool
		if tag, ok = p.resolveTag(handle, suffix); !ok {
			p.fail("while parsing a node", start, "found undefined tag handle", tagMark)
			return noNode
		}
	}
	switch {
	case indentless && tok.kind == tokBlockEntry:
		return p.indentlessSequence(p.collection(kindSequence, start, anchor, tag))
	case tok.kind == tokScalar:
		id := p.scalar(tok, start, tag)
		p.anchor(anchor, id)
		p.s.consume()
		return id
	case tok.kind == tokFlowSequenceStart:
		return p.flowSequence(p.collection(kindSequence, start, anchor, tag))
	case tok.kind == tokFlowMappingStart:
		return p.flowMapping(p.collection(kindMapping, start, anchor, tag))
	case block && tok.kind == tokBlockSequenceStart:
		return p.blockSequence(p.collection(kindSequence, start, anchor, tag))
	case block && tok.kind == tokBlockMappingStart:
		return p.blockMapping(p.collection(kindMapping, start, anchor, tag))
	case anchor != "" || tag != "":
		id := p.emptyScalar(start)
		p.scalarTag(id, tag, stylePlain, false)
		p.anchor(anchor, id)
		return id
	}
	context := "while parsing a flow node"
	if block {
		context = "while parsing a block node"
	}
	p.fail(context, start, "did not find expected node content", tok.start)
	return noNode
}

// resolveTag applies the %TAG directives to a tag's handle.
func (p *yamlParser) resolveTag(handle, suffix string) (string, bool) {
	if handle == "" {
		return suffix, true
	}
	for _, d := range p.tags {
		if d.handle == handle {
			tag := d.prefix + suffix
			return tag, tag != ""
		}
	}
	return "", false
}

func (p *yamlParser) alias(tok *token) nodeID {
	id := p.newNode(kindAlias, tok.start)
	target, ok := p.anchors[tok.value]
	if !ok {
		p.err = &yamlError{own: true, problem: fmt.Sprintf("unknown anchor '%s' referenced", tok.value), problemMark: tok.start}
		return noNode
	}
	p.t.node(id).a = uint32(target)
	p.s.consume()
	return id
}

func (p *yamlParser) anchor(name string, id nodeID) {
	if name != "" {
		p.anchors[name] = id
	}
}

// shortTag writes tags of the YAML namespace as `!!name`.
func shortTag(tag string) string {
	const long = "tag:yaml.org,2002:"
	if strings.HasPrefix(tag, long) {
		return "!!" + tag[len(long):]
	}
	return tag
}

func (p *yamlParser) scalar(tok *token, start mark, tag string) nodeID {
	id := p.newNode(kindScalar, start)
	nd := p.t.node(id)
	if tok.off >= 0 {
		nd.a, nd.b = uint32(tok.off), uint32(len(tok.value))
	} else {
		p.t.setValue(id, tok.value)
	}
	p.scalarTag(id, tag, tok.style, tok.value == mergeKey)
	return id
}

// scalarTag sets a scalar's tag as yaml.v3's decoder does: an explicit
// tag, else !!str for quoted and block scalars, !!merge for a plain <<,
// else what the value resolves to.
func (p *yamlParser) scalarTag(id nodeID, tag string, style scalarStyle, merge bool) {
	switch {
	case tag != "" && tag != "!":
		p.t.setTag(id, shortTag(tag))
	case style != stylePlain:
		p.t.node(id).tag = tagStr
	case merge:
		p.t.node(id).tag = tagMerge
	default:
		p.t.node(id).tag = tagPlain
	}
}

// collection adds a sequence or mapping; its anchor is defined before its
// content is read (an alias inside may point at it).
func (p *yamlParser) collection(kind nodeKind, start mark, anchor, tag string) nodeID {
	id := p.newNode(kind, start)
	switch {
	case tag != "" && tag != "!":
		p.t.setTag(id, shortTag(tag))
	case kind == kindSequence:
		p.t.node(id).tag = tagSeq
	default:
		p.t.node(id).tag = tagMap
	}
	p.anchor(anchor, id)
	return id
}

// finish gives a collection the children pending since base.
func (p *yamlParser) finish(id nodeID, base int) nodeID {
	p.t.setContent(id, p.pending[base:])
	p.pending = p.pending[:base]
	if p.err != nil {
		return noNode
	}
	return id
}

func (p *yamlParser) push(id nodeID) bool {
	p.pending = append(p.pending, id)
	return p.err == nil
}

func (p *yamlParser) blockSequence(id nodeID) nodeID {
	base := len(p.pending)
	tok := p.peek()
	ctx := tok.start
	p.s.consume()
	for {
		if tok = p.peek(); tok == nil {
			return p.finish(id, base)
		}
		switch tok.kind {
		case tokBlockEntry:
			m := tok.end
			p.s.consume()
			if tok = p.peek(); tok == nil {
				return p.finish(id, base)
			}
			var child nodeID
			if tok.kind != tokBlockEntry && tok.kind != tokBlockEnd {
				child = p.parseNode(true, false)
			} else {
				child = p.emptyScalar(m)
			}
			if !p.push(child) {
				return p.finish(id, base)
			}
		case tokBlockEnd:
			p.s.consume()
			return p.finish(id, base)
		default:
			p.fail("while parsing a block collection", ctx, "did not find expected '-' indicator", tok.start)
			return p.finish(id, base)
		}
	}
}

func (p *yamlParser) indentlessSequence(id nodeID) nodeID {
	base := len(p.pending)
	for {
		tok := p.peek()
		if tok == nil || tok.kind != tokBlockEntry {
			return p.finish(id, base)
		}
		m := tok.end
		p.s.consume()
		if tok = p.peek(); tok == nil {
			return p.finish(id, base)
		}
		var child nodeID
		switch tok.kind {
		case tokBlockEntry, tokKey, tokValue, tokBlockEnd:
			child = p.emptyScalar(m)
		default:
			child = p.parseNode(true, false)
		}
		if !p.push(child) {
			return p.finish(id, base)
		}
	}
}

func (p *yamlParser) blockMapping(id nodeID) nodeID {
	base := len(p.pending)
	tok := p.peek()
	ctx := tok.start
	p.s.consume()
	for {
		if tok = p.peek(); tok == nil {
			return p.finish(id, base)
		}
		switch tok.kind {
		case tokKey:
			m := tok.end
			p.s.consume()
			if !p.push(p.blockValue(m)) {
				return p.finish(id, base)
			}
			if tok = p.peek(); tok == nil {
				return p.finish(id, base)
			}
			var value nodeID
			if tok.kind == tokValue {
				m := tok.end
				p.s.consume()
				value = p.blockValue(m)
			} else {
				value = p.emptyScalar(tok.start)
			}
			if !p.push(value) {
				return p.finish(id, base)
			}
		case tokBlockEnd:
			p.s.consume()
			return p.finish(id, base)
		default:
			p.fail("while parsing a block mapping", ctx, "did not find expected key", tok.start)
			return p.finish(id, base)
		}
	}
}

// blockValue reads a block mapping's key or value after its indicator:
// a node, or an empty scalar at m.
func (p *yamlParser) blockValue(m mark) nodeID {
	tok := p.peek()
	if tok == nil {
		return noNode
	}
	switch tok.kind {
	case tokKey, tokValue, tokBlockEnd:
		return p.emptyScalar(m)
	}
	return p.parseNode(true, true)
}

func (p *yamlParser) flowSequence(id nodeID) nodeID {
	base := len(p.pending)
	tok := p.peek()
	ctx := tok.start
	p.s.consume()
	for first := true; ; first = false {
		if tok = p.peek(); tok == nil {
			return p.finish(id, base)
		}
		if tok.kind != tokFlowSequenceEnd {
			if !first {
				if tok.kind != tokFlowEntry {
					p.fail("while parsing a flow sequence", ctx, "did not find expected ',' or ']'", tok.start)
					return p.finish(id, base)
				}
				p.s.consume()
				if tok = p.peek(); tok == nil {
					return p.finish(id, base)
				}
			}
			if tok.kind == tokKey {
				if !p.push(p.pairMapping(tok)) {
					return p.finish(id, base)
				}
				continue
			}
			if tok.kind != tokFlowSequenceEnd {
				if !p.push(p.parseNode(false, false)) {
					return p.finish(id, base)
				}
				continue
			}
		}
		p.s.consume()
		return p.finish(id, base)
	}
}

// pairMapping reads `? key : value` in a flow sequence: a mapping of one
// pair. tok is the KEY token.
func (p *yamlParser) pairMapping(tok *token) nodeID {
	id := p.collection(kindMapping, tok.start, "", "")
	base := len(p.pending)
	p.s.consume()
	if tok = p.peek(); tok == nil {
		return p.finish(id, base)
	}
	var key nodeID
	switch tok.kind {
	case tokValue, tokFlowEntry, tokFlowSequenceEnd:
		m := tok.end
		p.s.consume() // as yaml.v3 does, whichever of the three it is
		key = p.emptyScalar(m)
	default:
		key = p.parseNode(false, false)
	}
	if !p.push(key) {
		return p.finish(id, base)
	}
	if tok = p.peek(); tok == nil {
		return p.finish(id, base)
	}
	value := noNode
	if tok.kind == tokValue {
		at := tok.start
		p.s.consume()
		next := p.peek()
		if next == nil {
			return p.finish(id, base)
		}
		if next.kind != tokFlowEntry && next.kind != tokFlowSequenceEnd {
			value = p.parseNode(false, false)
		} else {
			value = p.emptyScalar(at)
		}
	} else {
		value = p.emptyScalar(tok.start)
	}
	if !p.push(value) {
		return p.finish(id, base)
	}
	p.peek() // the mapping ends at the next token
	return p.finish(id, base)
}

func (p *yamlParser) flowMapping(id nodeID) nodeID {
	base := len(p.pending)
	tok := p.peek()
	ctx := tok.start
	p.s.consume()
	for first := true; ; first = false {
		if tok = p.peek(); tok == nil {
			return p.finish(id, base)
		}
		if tok.kind != tokFlowMappingEnd {
			if !first {
				if tok.kind != tokFlowEntry {
					p.fail("while parsing a flow mapping", ctx, "did not find expected ',' or '}'", tok.start)
					return p.finish(id, base)
				}
				p.s.consume()
				if tok = p.peek(); tok == nil {
					return p.finish(id, base)
				}
			}
			switch {
			case tok.kind == tokKey:
				p.s.consume()
				if tok = p.peek(); tok == nil {
					return p.finish(id, base)
				}
				var key nodeID
				switch tok.kind {
				case tokValue, tokFlowEntry, tokFlowMappingEnd:
					key = p.emptyScalar(tok.start)
				default:
					key = p.parseNode(false, false)
				}
				if !p.push(key) || !p.push(p.flowValue()) {
					return p.finish(id, base)
				}
				continue
			case tok.kind != tokFlowMappingEnd:
				if !p.push(p.parseNode(false, false)) {
					return p.finish(id, base)
				}
				if tok = p.peek(); tok == nil {
					return p.finish(id, base)
				}
				if !p.push(p.emptyScalar(tok.start)) {
					return p.finish(id, base)
				}
				continue
			}
		}
		p.s.consume()
		return p.finish(id, base)
	}
}

// flowValue reads a flow mapping's value: after `:` a node, or an empty
// scalar at the next token.
func (p *yamlParser) flowValue() nodeID {
	tok := p.peek()
	if tok == nil {
		return noNode
	}
	if tok.kind == tokValue {
		p.s.consume()
		if tok = p.peek(); tok == nil {
			return noNode
		}
		if tok.kind != tokFlowEntry && tok.kind != tokFlowMappingEnd {
			return p.parseNode(false, false)
		}
	}
	return p.emptyScalar(tok.start)
}

// decodeStream turns a stream into UTF-8 text as yaml.v3's reader does:
// a byte order mark chooses UTF-16 and is dropped; text that is not valid
// or holds control characters is refused. So is a byte order mark
// anywhere else: yaml.v3 and kubectl's parser (the same code) skip one at
// the start of a line only when their read buffer happens to start with
// one, and then drop the first character of other lines (`xspec:` read as
// `spec:`), so what they read depends on where their buffer was cut.
func decodeStream(src string) (string, *yamlError) {
	var text string
	var err *yamlError
	switch {
	case strings.HasPrefix(src, "\xFF\xFE"):
		text, err = decodeUTF16(src[2:], false)
	case strings.HasPrefix(src, "\xFE\xFF"):
		text, err = decodeUTF16(src[2:], true)
	default:
		text = strings.TrimPrefix(src, byteOrderMark)
		err = checkText(text)
	}
	if err != nil {
		return "", err
	}
	if i := strings.Index(text, byteOrderMark); i >= 0 {
		return "", &yamlError{own: true, problem: "a byte order mark (U+FEFF) after the start of the stream: YAML parsers disagree on what follows it, so the manifest is refused", problemMark: mark{line: lineOf(text, i)}}
	}
	return text, nil
}

const byteOrderMark = "\uFEFF"

// lineOf is the 0-based line of byte i of text.
func lineOf(text string, i int) int {
	s := scanner{src: text[:i]}
	for !s.isZ(0) {
		if s.isBreak(0) {
			s.skipLine()
		} else {
			s.skip()
		}
	}
	return s.m.line
}

// readerError is a problem with the characters of text at byte i.
func readerError(problem, text string, i int) *yamlError {
	return &yamlError{problem: problem, own: true, reader: true, problemMark: mark{line: lineOf(text, i)}}
}

// checkText refuses what yaml.v3's reader refuses.
func checkText(src string) *yamlError {
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7F {
				return readerError("control characters are not allowed", src, i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(src[i:])
		if r == utf8.RuneError && size == 1 {
			return readerError(utf8Problem(src[i:]), src, i)
		}
		if !(r == 0x85 || r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return readerError("control characters are not allowed", src, i)
		}
		i += size
	}
	return nil
}

// utf8Problem names what is wrong with the UTF-8 sequence s starts with,
// in yaml.v3's words.
func utf8Problem(s string) string {
	w := utf8Width(s[0])
	switch {
	case w == 0:
		return "invalid leading UTF-8 octet"
	case len(s) < w:
		return "incomplete UTF-8 octet sequence"
	}
	for k := 1; k < w; k++ {
		if s[k]&0xC0 != 0x80 {
			return "invalid trailing UTF-8 octet"
		}
	}
	return "invalid length of a UTF-8 sequence"
}

func decodeUTF16(src string, bigEndian bool) (string, *yamlError) {
	unit := func(i int) rune {
		if bigEndian {
			return rune(src[i])<<8 | rune(src[i+1])
		}
		return rune(src[i+1])<<8 | rune(src[i])
	}
	var b strings.Builder
	b.Grow(len(src))
	for i := 0; i < len(src); {
		if i+2 > len(src) {
			return "", readerError("incomplete UTF-16 character", b.String(), b.Len())
		}
		r := unit(i)
		i += 2
		switch {
		case r&0xFC00 == 0xDC00:
			return "", readerError("unexpected low surrogate area", b.String(), b.Len())
		case r&0xFC00 == 0xD800:
			if i+2 > len(src) {
				return "", readerError("incomplete UTF-16 surrogate pair", b.String(), b.Len())
			}
			low := unit(i)
			if low&0xFC00 != 0xDC00 {
				return "", readerError("expected low surrogate area", b.String(), b.Len())
			}
			r = 0x10000 + (r&0x3FF)<<10 + low&0x3FF
			i += 2
		}
		b.WriteRune(r)
	}
	text := b.String()
	return text, checkText(text)
}
