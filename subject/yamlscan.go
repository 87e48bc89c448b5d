package subject

import "fmt"

// The YAML scanner: it turns a stream into tokens exactly as the scanner
// of go.yaml.in/yaml/v3 (a port of libyaml) does, simple keys, indentation
// and the comments it consumes included, so that a document means here
// what it means there. Only what a node tree needs is kept: no comment
// text, no token end marks beyond the ones nodes take their positions from.

// mark is a position: index counts characters, line and column from 0.
type mark struct{ index, line, column int }

type tokenKind uint8

const (
	tokStreamStart tokenKind = iota
	tokStreamEnd
	tokVersionDirective
	tokTagDirective
	tokDocumentStart
	tokDocumentEnd
	tokBlockSequenceStart
	tokBlockMappingStart
	tokBlockEnd
	tokFlowSequenceStart
	tokFlowSequenceEnd
	tokFlowMappingStart
	tokFlowMappingEnd
	tokBlockEntry
	tokFlowEntry
	tokKey
	tokValue
	tokAlias
	tokAnchor
	tokTag
	tokScalar
)

type scalarStyle uint8

const (
	stylePlain scalarStyle = iota
	styleSingle
	styleDouble
	styleLiteral
	styleFolded
)

// token is one token. A scalar's value is src[off:off+len(value)] when it
// was taken from the input as it is (off >= 0), or a string of its own
// (off < 0).
type token struct {
	kind       tokenKind
	style      scalarStyle
	start, end mark
	value      string // scalar, anchor or alias name, tag or directive handle
	suffix     string // tag suffix, %TAG prefix
	off        int
	major      int8
	minor      int8
}

// Limits of the scanner, as yaml.v3's.
const (
	maxFlowLevel      = 10000 // nested flow collections
	maxIndents        = 10000 // nested block collections
	maxSimpleKeyChars = 1024  // a simple key ends within this many characters
	maxCommentPeek    = 512   // blanks looked through for a comment
)

type simpleKey struct {
	possible, required bool
	tokenNumber        int
	mark               mark
}

// yamlError is a scanner or parser error, with the marks yaml.v3 reports
// its line from.
type yamlError struct {
	scanner     bool
	context     string
	contextMark mark
	problem     string
	problemMark mark
	// own marks an error of this parser's own (yaml.v3 names no line
	// or has no such error): its line is problemMark's.
	own bool
	// reader marks text that is not a stream of allowed characters: it
	// is refused before it is parsed, where yaml.v3 may first report a
	// syntax error its read buffer reaches before the bad character.
	reader bool
}

func (e *yamlError) Error() string { return e.problem }

// line is the line yaml.v3 names in its message (its own arithmetic:
// parser errors name the 0-based line of their context).
func (e *yamlError) line() int {
	if e.own {
		return e.problemMark.line + 1
	}
	line := 0
	switch {
	case e.contextMark.line != 0:
		line = e.contextMark.line
	case e.problemMark.line != 0:
		line = e.problemMark.line
	default:
		return 0
	}
	if e.scanner {
		line++
	}
	return line
}

// where is the line people should look at, 1-based: the problem's own,
// not yaml.v3's (which names the 0-based line a parser error's context
// began on, one or more lines above the problem); and the context and the
// line it began on, when that is another line.
func (e *yamlError) where() (line int, context string, contextLine int) {
	line = e.problemMark.line + 1
	if e.context != "" && !e.own && e.contextMark.line != e.problemMark.line {
		return line, e.context, e.contextMark.line + 1
	}
	return line, "", 0
}

type scanner struct {
	src string
	pos int // byte offset of the next character
	m   mark

	newlines int // line breaks since the last non-blank character

	streamStartDone bool
	streamEndDone   bool
	flowLevel       int
	indent          int
	indents         []int
	simpleKeyOK     bool
	simpleKeys      []simpleKey
	keysByToken     map[int]int

	queue []token
	// lastKinds are the kinds of the last two tokens of the queue in
	// yaml.v3's (consumed ones included), last first; queued counts
	// the tokens queued so far.
	lastKinds    [2]tokenKind
	queued       int
	comments     []commentMarks
	head         int // index of the next token in queue
	tokensParsed int // tokens handed out so far
	available    bool

	err *yamlError
}

func newScanner(src string) *scanner {
	return &scanner{src: src}
}

// at is the byte k bytes ahead, 0 past the end.
func (s *scanner) at(k int) byte {
	if s.pos+k < len(s.src) {
		return s.src[s.pos+k]
	}
	return 0
}

func (s *scanner) isZ(k int) bool     { return s.pos+k >= len(s.src) }
func (s *scanner) isBlank(k int) bool { c := s.at(k); return c == ' ' || c == '\t' }

func (s *scanner) isBreak(k int) bool {
	switch s.at(k) {
	case '\r', '\n':
		return true
	case 0xC2:
		return s.at(k+1) == 0x85
	case 0xE2:
		return s.at(k+1) == 0x80 && (s.at(k+2) == 0xA8 || s.at(k+2) == 0xA9)
	}
	return false
}

func (s *scanner) isBreakz(k int) bool { return s.isZ(k) || s.isBreak(k) }
func (s *scanner) isBlankz(k int) bool { return s.isBlank(k) || s.isBreakz(k) }

func isAlpha(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func asHex(c byte) int {
	switch {
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c - '0')
}

// utf8Width is the length of the character a leading byte starts.
func utf8Width(c byte) int {
	switch {
	case c&0x80 == 0:
		return 1
	case c&0xE0 == 0xC0:
		return 2
	case c&0xF0 == 0xE0:
		return 3
	case c&0xF8 == 0xF0:
		return 4
	}
	return 0
}

// skip moves past one character.
func (s *scanner) skip() {
	if !s.isBlank(0) {
		s.newlines = 0
	}
	s.m.index++
	s.m.column++
	w := utf8Width(s.at(0))
	if w == 0 {
		w = 1
	}
	s.pos += w
}

// skipLine moves past a line break (CRLF is one).
func (s *scanner) skipLine() {
	switch {
	case s.at(0) == '\r' && s.at(1) == '\n':
		s.m.index += 2
		s.pos += 2
	case s.isBreak(0):
		s.m.index++
		s.pos += utf8Width(s.at(0))
	default:
		return
	}
	s.m.column = 0
	s.m.line++
	s.newlines++
}

// read appends one character to b and moves past it.
func (s *scanner) read(b []byte) []byte {
	if !s.isBlank(0) {
		s.newlines = 0
	}
	w := utf8Width(s.at(0))
	if w == 0 {
		w = 1
	}
	b = append(b, s.src[s.pos:s.pos+w]...)
	s.pos += w
	s.m.index++
	s.m.column++
	return b
}

// readLine appends a line break to b, normalised as yaml.v3 does (CR,
// CRLF and NEL become LF; LS and PS stay).
func (s *scanner) readLine(b []byte) []byte {
	switch {
	case s.at(0) == '\r' && s.at(1) == '\n':
		b = append(b, '\n')
		s.pos += 2
		s.m.index++
	case s.at(0) == '\r' || s.at(0) == '\n':
		b = append(b, '\n')
		s.pos++
	case s.at(0) == 0xC2 && s.at(1) == 0x85:
		b = append(b, '\n')
		s.pos += 2
	case s.at(0) == 0xE2 && s.at(1) == 0x80 && (s.at(2) == 0xA8 || s.at(2) == 0xA9):
		b = append(b, s.src[s.pos:s.pos+3]...)
		s.pos += 3
	default:
		return b
	}
	s.m.index++
	s.m.column = 0
	s.m.line++
	s.newlines++
	return b
}

func (s *scanner) scanError(context string, contextMark mark, problem string) bool {
	s.err = &yamlError{scanner: true, context: context, contextMark: contextMark, problem: problem, problemMark: s.m}
	return false
}

// next returns the next token, or nil after an error (s.err).
func (s *scanner) peek() *token {
	if !s.available && !s.fetchMore() {
		return nil
	}
	return &s.queue[s.head]
}

// consume drops the token peek returned.
func (s *scanner) consume() {
	s.available = false
	s.tokensParsed++
	s.head++
	if s.head > 64 && s.head*2 > len(s.queue) {
		n := copy(s.queue, s.queue[s.head:])
		s.queue = s.queue[:n]
		s.head = 0
	}
}

// insert puts t at position i of the queue (counted from its head), or
// at its end when i < 0.
func (s *scanner) insert(i int, t token) {
	s.queued++
	if i < 0 || s.head+i == len(s.queue) {
		s.lastKinds = [2]tokenKind{t.kind, s.lastKinds[0]}
		s.queue = append(s.queue, t)
		return
	}
	if s.head+i == len(s.queue)-1 {
		s.lastKinds[1] = t.kind
	}
	s.queue = append(s.queue, token{})
	copy(s.queue[s.head+i+1:], s.queue[s.head+i:])
	s.queue[s.head+i] = t
}

// fetchMore scans until the head token cannot become part of a simple
// key (and at least three tokens are queued).
func (s *scanner) fetchMore() bool {
	for {
		if s.head < len(s.queue)-2 {
			i, ok := s.keysByToken[s.tokensParsed]
			if !ok {
				break
			}
			valid, ok := s.keyValid(&s.simpleKeys[i])
			if !ok {
				return false
			}
			if !valid {
				break
			}
		}
		if !s.fetchNext() {
			return false
		}
	}
	s.available = true
	return true
}

// keyValid reports whether a possible simple key can still be one.
func (s *scanner) keyValid(k *simpleKey) (valid, ok bool) {
	if !k.possible {
		return false, true
	}
	if k.mark.line < s.m.line || k.mark.index+maxSimpleKeyChars < s.m.index {
		if k.required {
			return false, s.scanError("while scanning a simple key", k.mark, "could not find expected ':'")
		}
		k.possible = false
		return false, true
	}
	return true, true
}

func (s *scanner) saveSimpleKey() bool {
	required := s.flowLevel == 0 && s.indent == s.m.column
	if !s.simpleKeyOK {
		return true
	}
	k := simpleKey{possible: true, required: required, tokenNumber: s.tokensParsed + len(s.queue) - s.head, mark: s.m}
	if !s.removeSimpleKey() {
		return false
	}
	s.simpleKeys[len(s.simpleKeys)-1] = k
	s.keysByToken[k.tokenNumber] = len(s.simpleKeys) - 1
	return true
}

func (s *scanner) removeSimpleKey() bool {
	k := &s.simpleKeys[len(s.simpleKeys)-1]
	if k.possible {
		if k.required {
			return s.scanError("while scanning a simple key", k.mark, "could not find expected ':'")
		}
		k.possible = false
		delete(s.keysByToken, k.tokenNumber)
	}
	return true
}

func (s *scanner) increaseFlowLevel() bool {
	s.simpleKeys = append(s.simpleKeys, simpleKey{tokenNumber: s.tokensParsed + len(s.queue) - s.head, mark: s.m})
	s.flowLevel++
	if s.flowLevel > maxFlowLevel {
		return s.scanError("while increasing flow level", s.simpleKeys[len(s.simpleKeys)-1].mark, fmt.Sprintf("exceeded max depth of %d", maxFlowLevel))
	}
	return true
}

func (s *scanner) decreaseFlowLevel() {
	if s.flowLevel > 0 {
		s.flowLevel--
		last := len(s.simpleKeys) - 1
		delete(s.keysByToken, s.simpleKeys[last].tokenNumber)
		s.simpleKeys = s.simpleKeys[:last]
	}
}

// rollIndent opens a block collection at column: its start token goes
// at token number number (or at the end, -1).
func (s *scanner) rollIndent(column, number int, kind tokenKind, m mark) bool {
	if s.flowLevel > 0 || s.indent >= column {
		return true
	}
	s.indents = append(s.indents, s.indent)
	s.indent = column
	if len(s.indents) > maxIndents {
		return s.scanError("while increasing indent level", s.simpleKeys[len(s.simpleKeys)-1].mark, fmt.Sprintf("exceeded max depth of %d", maxIndents))
	}
	if number > -1 {
		number -= s.tokensParsed
	}
	s.insert(number, token{kind: kind, start: m, end: m})
	return true
}

// unrollIndent closes the block collections indented more than column.
// unrollIndent ends the blocks indented more than column. yaml.v3 puts
// each end where scanning for the next token began (scan), or at the start
// of a comment on the block's own indentation just before (what an empty
// value at the end takes its position from).
func (s *scanner) unrollIndent(column int, scan mark) {
	if s.flowLevel > 0 {
		return
	}
	at := scan
	at.index--
	for s.indent > column {
		stop := at.index
		for i := len(s.comments) - 1; i >= 0; i-- {
			c := &s.comments[i]
			if c.end.index < stop {
				break
			}
			if c.start.column == s.indent+1 {
				at = c.start
			}
			stop = c.scan.index
		}
		s.insert(-1, token{kind: tokBlockEnd, start: at, end: at})
		s.indent = s.indents[len(s.indents)-1]
		s.indents = s.indents[:len(s.indents)-1]
	}
}

// add queues a token made of the one character at the current position.
func (s *scanner) addSingle(kind tokenKind) {
	start := s.m
	s.skip()
	s.insert(-1, token{kind: kind, start: start, end: s.m})
}

func (s *scanner) fetchNext() bool {
	if !s.streamStartDone {
		s.indent = -1
		s.simpleKeys = append(s.simpleKeys, simpleKey{})
		s.keysByToken = map[int]int{}
		s.simpleKeyOK = true
		s.streamStartDone = true
		s.insert(-1, token{kind: tokStreamStart, start: s.m, end: s.m})
		return true
	}
	scan := s.m
	if !s.scanToNextToken() {
		return false
	}
	s.unrollIndent(s.m.column, scan)
	if s.isZ(0) {
		return s.fetchStreamEnd()
	}
	c := s.at(0)
	if s.m.column == 0 {
		switch {
		case c == '%':
			return s.fetchDirective()
		case c == '-' && s.at(1) == '-' && s.at(2) == '-' && s.isBlankz(3):
			return s.fetchDocumentIndicator(tokDocumentStart)
		case c == '.' && s.at(1) == '.' && s.at(2) == '.' && s.isBlankz(3):
			return s.fetchDocumentIndicator(tokDocumentEnd)
		}
	}
	if !s.fetchToken(c) {
		return false
	}
	if s.queue[len(s.queue)-1].kind == tokBlockEntry {
		return true
	}
	s.scanLineComment()
	return true
}

func (s *scanner) fetchToken(c byte) bool {
	switch {
	case c == '[':
		return s.fetchFlowCollectionStart(tokFlowSequenceStart)
	case c == '{':
		return s.fetchFlowCollectionStart(tokFlowMappingStart)
	case c == ']':
		return s.fetchFlowCollectionEnd(tokFlowSequenceEnd)
	case c == '}':
		return s.fetchFlowCollectionEnd(tokFlowMappingEnd)
	case c == ',':
		if !s.removeSimpleKey() {
			return false
		}
		s.simpleKeyOK = true
		s.addSingle(tokFlowEntry)
		return true
	case c == '-' && s.isBlankz(1):
		return s.fetchBlockEntry()
	case c == '?' && (s.flowLevel > 0 || s.isBlankz(1)):
		return s.fetchKey()
	case c == ':' && (s.flowLevel > 0 || s.isBlankz(1)):
		return s.fetchValue()
	case c == '*':
		return s.fetchAnchor(tokAlias)
	case c == '&':
		return s.fetchAnchor(tokAnchor)
	case c == '!':
		return s.fetchTag()
	case c == '|' && s.flowLevel == 0:
		return s.fetchBlockScalar(true)
	case c == '>' && s.flowLevel == 0:
		return s.fetchBlockScalar(false)
	case c == '\'':
		return s.fetchFlowScalar(true)
	case c == '"':
		return s.fetchFlowScalar(false)
	case s.startsPlain(c):
		return s.fetchPlainScalar()
	}
	return s.scanError("while scanning for the next token", s.m, "found character that cannot start any token")
}

// startsPlain reports whether c (at the current position) starts a plain
// scalar.
func (s *scanner) startsPlain(c byte) bool {
	switch c {
	case '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
	default:
		if !s.isBlankz(0) {
			return true
		}
	}
	if c == '-' && !s.isBlank(1) {
		return true
	}
	return s.flowLevel == 0 && (c == '?' || c == ':') && !s.isBlankz(1)
}

func (s *scanner) fetchStreamEnd() bool {
	if s.m.column != 0 {
		s.m.column = 0
		s.m.line++
	}
	s.unrollIndent(-1, s.m)
	if !s.removeSimpleKey() {
		return false
	}
	s.simpleKeyOK = false
	s.insert(-1, token{kind: tokStreamEnd, start: s.m, end: s.m})
	return true
}

func (s *scanner) fetchDirective() bool {
	s.unrollIndent(-1, s.m)
	if !s.removeSimpleKey() {
		return false
	}
	s.simpleKeyOK = false
	t, ok := s.scanDirective()
	if !ok {
		return false
	}
	s.insert(-1, t)
	return true
}

func (s *scanner) fetchDocumentIndicator(kind tokenKind) bool {
	s.unrollIndent(-1, s.m)
	if !s.removeSimpleKey() {
		return false
	}
	s.simpleKeyOK = false
	start := s.m
	s.skip()
	s.skip()
	s.skip()
	s.insert(-1, token{kind: kind, start: start, end: s.m})
	return true
}

func (s *scanner) fetchFlowCollectionStart(kind tokenKind) bool {
	if !s.saveSimpleKey() || !s.increaseFlowLevel() {
		return false
	}
	s.simpleKeyOK = true
	s.addSingle(kind)
	return true
}

func (s *scanner) fetchFlowCollectionEnd(kind tokenKind) bool {
	if !s.removeSimpleKey() {
		return false
	}
	s.decreaseFlowLevel()
	s.simpleKeyOK = false
	s.addSingle(kind)
	return true
}

func (s *scanner) fetchBlockEntry() bool {
	if s.flowLevel == 0 {
		if !s.simpleKeyOK {
			return s.scanError("", s.m, "block sequence entries are not allowed in this context")
		}
		if !s.rollIndent(s.m.column, -1, tokBlockSequenceStart, s.m) {
			return false
		}
	}
	if !s.removeSimpleKey() {
		return false
	}
	s.simpleKeyOK = true
	s.addSingle(tokBlockEntry)
	return true
}

func (s *scanner) fetchKey() bool {
	if s.flowLevel == 0 {
		if !s.simpleKeyOK {
			return s.scanError("", s.m, "mapping keys are not allowed in this context")
		}
		if !s.rollIndent(s.m.column, -1, tokBlockMappingStart, s.m) {
			return false
		}
	}
	if !s.removeSimpleKey() {
		return false
	}
	s.simpleKeyOK = s.flowLevel == 0
	s.addSingle(tokKey)
	return true
}

func (s *scanner) fetchValue() bool {
	k := &s.simpleKeys[len(s.simpleKeys)-1]
	valid, ok := s.keyValid(k)
	if !ok {
		return false
	}
	if valid {
		s.insert(k.tokenNumber-s.tokensParsed, token{kind: tokKey, start: k.mark, end: k.mark})
		if !s.rollIndent(k.mark.column, k.tokenNumber, tokBlockMappingStart, k.mark) {
			return false
		}
		k = &s.simpleKeys[len(s.simpleKeys)-1]
		k.possible = false
		delete(s.keysByToken, k.tokenNumber)
		s.simpleKeyOK = false
	} else {
		if s.flowLevel == 0 {
			if !s.simpleKeyOK {
				return s.scanError("", s.m, "mapping values are not allowed in this context")
			}
			if !s.rollIndent(s.m.column, -1, tokBlockMappingStart, s.m) {
				return false
			}
		}
		s.simpleKeyOK = s.flowLevel == 0
	}
	s.addSingle(tokValue)
	return true
}

func (s *scanner) fetchAnchor(kind tokenKind) bool {
	if !s.saveSimpleKey() {
		return false
	}
	s.simpleKeyOK = false
	t, ok := s.scanAnchor(kind)
	if !ok {
		return false
	}
	s.insert(-1, t)
	return true
}

func (s *scanner) fetchTag() bool {
	if !s.saveSimpleKey() {
		return false
	}
	s.simpleKeyOK = false
	t, ok := s.scanTag()
	if !ok {
		return false
	}
	s.insert(-1, t)
	return true
}

func (s *scanner) fetchBlockScalar(literal bool) bool {
	if !s.removeSimpleKey() {
		return false
	}
	s.simpleKeyOK = true
	t, ok := s.scanBlockScalar(literal)
	if !ok {
		return false
	}
	s.insert(-1, t)
	return true
}

func (s *scanner) fetchFlowScalar(single bool) bool {
	if !s.saveSimpleKey() {
		return false
	}
	s.simpleKeyOK = false
	t, ok := s.scanFlowScalar(single)
	if !ok {
		return false
	}
	s.insert(-1, t)
	return true
}

func (s *scanner) fetchPlainScalar() bool {
	if !s.saveSimpleKey() {
		return false
	}
	s.simpleKeyOK = false
	t, ok := s.scanPlainScalar()
	if !ok {
		return false
	}
	s.insert(-1, t)
	return true
}

// scanToNextToken skips white space, comments and line breaks before a
// token, as yaml.v3 does (a BOM at the start of a line is skipped too).
func (s *scanner) scanToNextToken() bool {
	scan := s.m
	for {
		if s.m.column == 0 && s.at(0) == 0xEF && s.at(1) == 0xBB && s.at(2) == 0xBF {
			s.skip()
		}
		for s.at(0) == ' ' || (s.flowLevel > 0 || !s.simpleKeyOK) && s.at(0) == '\t' {
			s.skip()
		}
		if s.at(0) == '#' {
			s.scanComments(scan)
		}
		if !s.isBreak(0) {
			return true
		}
		s.skipLine()
		if s.flowLevel == 0 {
			s.simpleKeyOK = true
		}
	}
}

// consumeComment moves to the '#' at char index seen (past blanks and
// line breaks) and past the comment, up to its line break.
func (s *scanner) consumeComment(seen int) {
	for {
		if s.isBreakz(0) {
			if s.m.index >= seen {
				return
			}
			if s.isZ(0) {
				return
			}
			s.skipLine()
			continue
		}
		s.skip()
	}
}

// scanLineComment consumes a comment on the same line after a token, as
// yaml.v3 does to keep it: blanks before it are skipped whatever the
// context.
func (s *scanner) scanLineComment() {
	if s.newlines > 0 {
		return
	}
	for peek := 0; peek < maxCommentPeek; peek++ {
		if s.isBlank(peek) {
			continue
		}
		if s.at(peek) == '#' {
			start := s.m
			start.index, start.column = start.index+peek, start.column+peek
			s.consumeComment(s.m.index + peek)
			s.comments = append(s.comments, commentMarks{start: start}) // no scan or end mark, as in yaml.v3
		}
		return
	}
}

// commentMarks are the marks yaml.v3 records for a comment it keeps (not
// its text): where the scan that found it began, where it starts and
// where it ends. They move the marks of the block ends after it.
type commentMarks struct{ scan, start, end mark }

// scanComments consumes a comment and the comment lines after it (with
// the blank lines and indentation between them), as yaml.v3 does while
// collecting head and foot comments, and records their marks where it
// splits them. It looks ahead at most maxCommentPeek bytes past the last
// comment consumed.
func (s *scanner) scanComments(scan mark) {
	last := s.lastKinds[0]
	if last == tokFlowEntry && s.queued > 1 {
		last = s.lastKinds[1]
	}
	nextIndent := max(s.indent, 0)
	recentEmpty, firstEmpty := false, s.newlines <= 1
	line, column := s.m.line, s.m.column
	var start mark
	text := false
	footLine := -1
	if scan.line > 0 {
		footLine = s.m.line - s.newlines + 1
		if s.newlines == 0 && s.m.column > 1 {
			footLine++
		}
	}
	record := func(peek int) {
		end := mark{s.m.index + peek, line, column}
		s.comments = append(s.comments, commentMarks{scan: scan, start: start, end: end})
		scan, text = end, false
	}
	peek := 0
	for ; peek < maxCommentPeek; peek++ {
		column++
		if s.isBlank(peek) {
			continue
		}
		c := s.at(peek)
		closeFlow := s.flowLevel > 0 && (c == ']' || c == '}')
		if closeFlow || s.isBreakz(peek) {
			if (closeFlow || !recentEmpty) && (closeFlow || firstEmpty && (start.line == footLine && last != tokValue || start.column-1 < nextIndent)) && text {
				record(peek)
			}
			if !s.isBreak(peek) {
				break
			}
			firstEmpty, recentEmpty = false, true
			column = 0
			line++
			continue
		}
		if text && (closeFlow || column-1 < nextIndent && column != start.column) {
			record(peek)
		}
		if c != '#' {
			break
		}
		if !text {
			start = mark{s.m.index + peek, line, column}
		}
		text, recentEmpty = true, false
		s.consumeComment(s.m.index + peek)
		peek = 0 // the loop's increment skips the character after the comment, as yaml.v3's does
		column = 0
		line = s.m.line
		nextIndent = max(s.indent, 0)
	}
	if text {
		s.comments = append(s.comments, commentMarks{scan: scan, start: start, end: mark{s.m.index + peek - 1, line, column}})
	}
}
