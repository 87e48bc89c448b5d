package subject

// Scalars, anchors, tags and directives, scanned as yaml.v3 scans them.

func (s *scanner) skipBlanks() {
	for s.isBlank(0) {
		s.skip()
	}
}

func (s *scanner) scanDirective() (token, bool) {
	start := s.m
	s.skip()
	var name []byte
	for isAlpha(s.at(0)) && !s.isZ(0) {
		name = s.read(name)
	}
	if len(name) == 0 {
		return token{}, s.scanError("while scanning a directive", start, "could not find expected directive name")
	}
	if !s.isBlankz(0) {
		return token{}, s.scanError("while scanning a directive", start, "found unexpected non-alphabetical character")
	}
	var t token
	switch string(name) {
	case "YAML":
		s.skipBlanks()
		major, ok := s.scanVersionNumber(start)
		if !ok {
			return token{}, false
		}
		if s.at(0) != '.' {
			return token{}, s.scanError("while scanning a %YAML directive", start, "did not find expected digit or '.' character")
		}
		s.skip()
		minor, ok := s.scanVersionNumber(start)
		if !ok {
			return token{}, false
		}
		t = token{kind: tokVersionDirective, start: start, end: s.m, major: major, minor: minor}
	case "TAG":
		handle, prefix, ok := s.scanTagDirectiveValue(start)
		if !ok {
			return token{}, false
		}
		t = token{kind: tokTagDirective, start: start, end: s.m, value: string(handle), suffix: string(prefix)}
	default:
		return token{}, s.scanError("while scanning a directive", start, "found unknown directive name")
	}
	s.skipBlanks()
	if s.at(0) == '#' {
		for !s.isBreakz(0) {
			s.skip()
		}
	}
	if !s.isBreakz(0) {
		return token{}, s.scanError("while scanning a directive", start, "did not find expected comment or line break")
	}
	if s.isBreak(0) {
		s.skipLine()
	}
	return t, true
}

// maxVersionDigits bounds a %YAML version number, as yaml.v3 does.
const maxVersionDigits = 2

func (s *scanner) scanVersionNumber(start mark) (int8, bool) {
	var value, length int8
	for c := s.at(0); c >= '0' && c <= '9'; c = s.at(0) {
		length++
		if length > maxVersionDigits {
			return 0, s.scanError("while scanning a %YAML directive", start, "found extremely long version number")
		}
		value = value*10 + int8(c-'0')
		s.skip()
	}
	if length == 0 {
		return 0, s.scanError("while scanning a %YAML directive", start, "did not find expected version number")
	}
	return value, true
}

func (s *scanner) scanTagDirectiveValue(start mark) (handle, prefix []byte, ok bool) {
	s.skipBlanks()
	if handle, ok = s.scanTagHandle(true, start); !ok {
		return nil, nil, false
	}
	if !s.isBlank(0) {
		return nil, nil, s.scanError("while scanning a %TAG directive", start, "did not find expected whitespace")
	}
	s.skipBlanks()
	if prefix, ok = s.scanTagURI(true, nil, start); !ok {
		return nil, nil, false
	}
	if !s.isBlankz(0) {
		return nil, nil, s.scanError("while scanning a %TAG directive", start, "did not find expected whitespace or line break")
	}
	return handle, prefix, true
}

func (s *scanner) scanAnchor(kind tokenKind) (token, bool) {
	start := s.m
	s.skip()
	from := s.pos
	n := 0
	for isAlpha(s.at(0)) && !s.isZ(0) {
		s.skip()
		n++
	}
	end := s.m
	c := s.at(0)
	if n == 0 || !(s.isBlankz(0) || c == '?' || c == ':' || c == ',' || c == ']' || c == '}' || c == '%' || c == '@' || c == '`') {
		context := "while scanning an alias"
		if kind == tokAnchor {
			context = "while scanning an anchor"
		}
		return token{}, s.scanError(context, start, "did not find expected alphabetic or numeric character")
	}
	return token{kind: kind, start: start, end: end, value: s.src[from:s.pos], off: from}, true
}

func (s *scanner) scanTag() (token, bool) {
	start := s.m
	var handle, suffix []byte
	var ok bool
	if s.at(1) == '<' {
		s.skip()
		s.skip()
		if suffix, ok = s.scanTagURI(false, nil, start); !ok {
			return token{}, false
		}
		if s.at(0) != '>' {
			return token{}, s.scanError("while scanning a tag", start, "did not find the expected '>'")
		}
		s.skip()
	} else {
		if handle, ok = s.scanTagHandle(false, start); !ok {
			return token{}, false
		}
		if handle[0] == '!' && len(handle) > 1 && handle[len(handle)-1] == '!' {
			if suffix, ok = s.scanTagURI(false, nil, start); !ok {
				return token{}, false
			}
		} else {
			if suffix, ok = s.scanTagURI(false, handle, start); !ok {
				return token{}, false
			}
			handle = []byte{'!'}
			if len(suffix) == 0 {
				handle, suffix = suffix, handle
			}
		}
	}
	if !s.isBlankz(0) {
		return token{}, s.scanError("while scanning a tag", start, "did not find expected whitespace or line break")
	}
	return token{kind: tokTag, start: start, end: s.m, value: string(handle), suffix: string(suffix)}, true
}

func (s *scanner) tagError(directive bool, start mark, problem string) bool {
	context := "while parsing a tag"
	if directive {
		context = "while parsing a %TAG directive"
	}
	return s.scanError(context, start, problem)
}

func (s *scanner) scanTagHandle(directive bool, start mark) ([]byte, bool) {
	if s.at(0) != '!' {
		return nil, s.tagError(directive, start, "did not find expected '!'")
	}
	h := s.read(nil)
	for isAlpha(s.at(0)) && !s.isZ(0) {
		h = s.read(h)
	}
	if s.at(0) == '!' {
		h = s.read(h)
	} else if directive && string(h) != "!" {
		return nil, s.tagError(directive, start, "did not find expected '!'")
	}
	return h, true
}

// isURIChar reports the characters a tag URI may hold besides escapes.
func isURIChar(c byte) bool {
	switch c {
	case ';', '/', '?', ':', '@', '&', '=', '+', '$', ',', '.', '!', '~', '*', '\'', '(', ')', '[', ']', '%':
		return true
	}
	return isAlpha(c)
}

func (s *scanner) scanTagURI(directive bool, head []byte, start mark) ([]byte, bool) {
	var u []byte
	hasTag := len(head) > 0
	if len(head) > 1 {
		u = append(u, head[1:]...)
	}
	for !s.isZ(0) && isURIChar(s.at(0)) {
		if s.at(0) == '%' {
			var ok bool
			if u, ok = s.scanURIEscapes(directive, start, u); !ok {
				return nil, false
			}
		} else {
			u = s.read(u)
		}
		hasTag = true
	}
	if !hasTag {
		return nil, s.tagError(directive, start, "did not find expected tag URI")
	}
	return u, true
}

func (s *scanner) scanURIEscapes(directive bool, start mark, u []byte) ([]byte, bool) {
	w := 1024
	for w > 0 {
		if !(s.at(0) == '%' && isHex(s.at(1)) && isHex(s.at(2))) {
			return nil, s.tagError(directive, start, "did not find URI escaped octet")
		}
		octet := byte(asHex(s.at(1))<<4 + asHex(s.at(2)))
		if w == 1024 {
			if w = utf8Width(octet); w == 0 {
				return nil, s.tagError(directive, start, "found an incorrect leading UTF-8 octet")
			}
		} else if octet&0xC0 != 0x80 {
			return nil, s.tagError(directive, start, "found an incorrect trailing UTF-8 octet")
		}
		u = append(u, octet)
		s.skip()
		s.skip()
		s.skip()
		w--
	}
	return u, true
}

func (s *scanner) scanBlockScalar(literal bool) (token, bool) {
	start := s.m
	s.skip()
	chomping, increment := 0, 0
	chomp := func() {
		if c := s.at(0); c == '+' || c == '-' {
			chomping = 1
			if c == '-' {
				chomping = -1
			}
			s.skip()
		}
	}
	digit := func() bool {
		if c := s.at(0); c >= '0' && c <= '9' {
			if c == '0' {
				return s.scanError("while scanning a block scalar", start, "found an indentation indicator equal to 0")
			}
			increment = int(c - '0')
			s.skip()
		}
		return true
	}
	if c := s.at(0); c == '+' || c == '-' {
		chomp()
		if !digit() {
			return token{}, false
		}
	} else if c >= '0' && c <= '9' {
		if !digit() {
			return token{}, false
		}
		chomp()
	}
	s.skipBlanks()
	if s.at(0) == '#' {
		s.scanLineComment()
		for !s.isBreakz(0) {
			s.skip()
		}
	}
	if !s.isBreakz(0) {
		return token{}, s.scanError("while scanning a block scalar", start, "did not find expected comment or line break")
	}
	if s.isBreak(0) {
		s.skipLine()
	}
	end := s.m
	indent := 0
	if increment > 0 {
		indent = increment
		if s.indent >= 0 {
			indent = s.indent + increment
		}
	}
	var val, leadingBreak, trailingBreaks []byte
	var ok bool
	if trailingBreaks, ok = s.blockScalarBreaks(&indent, trailingBreaks, start, &end); !ok {
		return token{}, false
	}
	leadingBlank := false
	for s.m.column == indent && !s.isZ(0) {
		trailingBlank := s.isBlank(0)
		if !literal && !leadingBlank && !trailingBlank && len(leadingBreak) > 0 && leadingBreak[0] == '\n' {
			if len(trailingBreaks) == 0 {
				val = append(val, ' ')
			}
		} else {
			val = append(val, leadingBreak...)
		}
		leadingBreak = leadingBreak[:0]
		val = append(val, trailingBreaks...)
		trailingBreaks = trailingBreaks[:0]
		leadingBlank = s.isBlank(0)
		for !s.isBreakz(0) {
			val = s.read(val)
		}
		leadingBreak = s.readLine(leadingBreak)
		if trailingBreaks, ok = s.blockScalarBreaks(&indent, trailingBreaks, start, &end); !ok {
			return token{}, false
		}
	}
	if chomping != -1 {
		val = append(val, leadingBreak...)
	}
	if chomping == 1 {
		val = append(val, trailingBreaks...)
	}
	style := styleLiteral
	if !literal {
		style = styleFolded
	}
	return token{kind: tokScalar, style: style, start: start, end: end, value: string(val), off: -1}, true
}

// blockScalarBreaks reads the indentation and empty lines before a block
// scalar's next line, deciding the indentation when it is not known yet.
func (s *scanner) blockScalarBreaks(indent *int, breaks []byte, start mark, end *mark) ([]byte, bool) {
	*end = s.m
	maxIndent := 0
	for {
		for (*indent == 0 || s.m.column < *indent) && s.at(0) == ' ' {
			s.skip()
		}
		if s.m.column > maxIndent {
			maxIndent = s.m.column
		}
		if (*indent == 0 || s.m.column < *indent) && s.at(0) == '\t' {
			return nil, s.scanError("while scanning a block scalar", start, "found a tab character where an indentation space is expected")
		}
		if !s.isBreak(0) {
			break
		}
		breaks = s.readLine(breaks)
		*end = s.m
	}
	if *indent == 0 {
		*indent = maxIndent
		if *indent < s.indent+1 {
			*indent = s.indent + 1
		}
		if *indent < 1 {
			*indent = 1
		}
	}
	return breaks, true
}

// atDocumentIndicator reports a `---` or `...` at the start of a line.
func (s *scanner) atDocumentIndicator() bool {
	if s.m.column != 0 {
		return false
	}
	c := s.at(0)
	return (c == '-' || c == '.') && s.at(1) == c && s.at(2) == c && s.isBlankz(3)
}

func (s *scanner) scanFlowScalar(single bool) (token, bool) {
	start := s.m
	s.skip()
	from := s.pos
	var val, leadingBreak, trailingBreaks, whitespaces []byte
	cooked := false // val holds the value (else it is src[from:s.pos])
	for {
		if s.atDocumentIndicator() {
			return token{}, s.scanError("while scanning a quoted scalar", start, "found unexpected document indicator")
		}
		if s.isZ(0) {
			return token{}, s.scanError("while scanning a quoted scalar", start, "found unexpected end of stream")
		}
		leadingBlanks := false
		for !s.isBlankz(0) {
			c := s.at(0)
			switch {
			case single && c == '\'' && s.at(1) == '\'':
				val, cooked = s.cook(val, cooked, from)
				val = append(val, '\'')
				s.skip()
				s.skip()
				continue
			case single && c == '\'', !single && c == '"':
			case !single && c == '\\' && s.isBreak(1):
				val, cooked = s.cook(val, cooked, from)
				s.skip()
				s.skipLine()
				leadingBlanks = true
			case !single && c == '\\':
				val, cooked = s.cook(val, cooked, from)
				var ok bool
				if val, ok = s.scanEscape(val, start); !ok {
					return token{}, false
				}
				continue
			default:
				if cooked {
					val = s.read(val)
				} else {
					s.skip()
				}
				continue
			}
			break
		}
		if c := s.at(0); single && c == '\'' || !single && c == '"' {
			break
		}
		val, cooked = s.cook(val, cooked, from)
		for s.isBlank(0) || s.isBreak(0) {
			if s.isBlank(0) {
				if !leadingBlanks {
					whitespaces = s.read(whitespaces)
				} else {
					s.skip()
				}
			} else if !leadingBlanks {
				whitespaces = whitespaces[:0]
				leadingBreak = s.readLine(leadingBreak)
				leadingBlanks = true
			} else {
				trailingBreaks = s.readLine(trailingBreaks)
			}
		}
		if leadingBlanks {
			if len(leadingBreak) > 0 && leadingBreak[0] == '\n' {
				if len(trailingBreaks) == 0 {
					val = append(val, ' ')
				} else {
					val = append(val, trailingBreaks...)
				}
			} else {
				val = append(val, leadingBreak...)
				val = append(val, trailingBreaks...)
			}
			trailingBreaks = trailingBreaks[:0]
			leadingBreak = leadingBreak[:0]
		} else {
			val = append(val, whitespaces...)
			whitespaces = whitespaces[:0]
		}
	}
	value, off := string(val), -1
	if !cooked {
		value, off = s.src[from:s.pos], from
	}
	s.skip()
	style := styleDouble
	if single {
		style = styleSingle
	}
	return token{kind: tokScalar, style: style, start: start, end: s.m, value: value, off: off}, true
}

// cook switches a scalar from a view of the input to a buffer of its own.
func (s *scanner) cook(val []byte, cooked bool, from int) ([]byte, bool) {
	if cooked {
		return val, true
	}
	return append(make([]byte, 0, s.pos-from+16), s.src[from:s.pos]...), true
}

// escapes are the one-character escapes of double-quoted scalars.
var escapes = map[byte]string{
	'0': "\x00", 'a': "\x07", 'b': "\x08", 't': "\x09", '\t': "\x09", 'n': "\x0A", 'v': "\x0B", 'f': "\x0C",
	'r': "\x0D", 'e': "\x1B", ' ': "\x20", '"': "\"", '\'': "'", '\\': "\\", 'N': "\u0085", '_': "\u00A0",
	'L': "\u2028", 'P': "\u2029",
}

func (s *scanner) scanEscape(val []byte, start mark) ([]byte, bool) {
	c := s.at(1)
	codeLength := 0
	switch c {
	case 'x':
		codeLength = 2
	case 'u':
		codeLength = 4
	case 'U':
		codeLength = 8
	default:
		e, ok := escapes[c]
		if !ok {
			return nil, s.scanError("while parsing a quoted scalar", start, "found unknown escape character")
		}
		val = append(val, e...)
	}
	s.skip()
	s.skip()
	if codeLength == 0 {
		return val, true
	}
	value := 0
	for k := 0; k < codeLength; k++ {
		if !isHex(s.at(k)) {
			return nil, s.scanError("while parsing a quoted scalar", start, "did not find expected hexdecimal number")
		}
		value = value<<4 + asHex(s.at(k))
	}
	if value >= 0xD800 && value <= 0xDFFF || value > 0x10FFFF {
		return nil, s.scanError("while parsing a quoted scalar", start, "found invalid Unicode character escape code")
	}
	val = appendUTF8(val, value)
	for k := 0; k < codeLength; k++ {
		s.skip()
	}
	return val, true
}

// appendUTF8 encodes a code point as yaml.v3 does (no replacement).
func appendUTF8(b []byte, v int) []byte {
	switch {
	case v <= 0x7F:
		return append(b, byte(v))
	case v <= 0x7FF:
		return append(b, byte(0xC0+v>>6), byte(0x80+v&0x3F))
	case v <= 0xFFFF:
		return append(b, byte(0xE0+v>>12), byte(0x80+(v>>6)&0x3F), byte(0x80+v&0x3F))
	}
	return append(b, byte(0xF0+v>>18), byte(0x80+(v>>12)&0x3F), byte(0x80+(v>>6)&0x3F), byte(0x80+v&0x3F))
}

func (s *scanner) scanPlainScalar() (token, bool) {
	var val, leadingBreak, trailingBreaks, whitespaces []byte
	leadingBlanks := false
	indent := s.indent + 1
	start, end := s.m, s.m
	from := s.pos
	cooked := false // val holds the value (else it is src[from:endPos])
	endPos := s.pos
	for {
		if s.atDocumentIndicator() || s.at(0) == '#' {
			break
		}
		for !s.isBlankz(0) {
			c := s.at(0)
			if c == ':' && s.isBlankz(1) || s.flowLevel > 0 && (c == ',' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}') {
				break
			}
			if leadingBlanks || len(whitespaces) > 0 {
				if !cooked {
					val, cooked = append(make([]byte, 0, endPos-from+32), s.src[from:endPos]...), true
				}
				if leadingBlanks {
					if leadingBreak[0] == '\n' {
						if len(trailingBreaks) == 0 {
							val = append(val, ' ')
						} else {
							val = append(val, trailingBreaks...)
						}
					} else {
						val = append(val, leadingBreak...)
						val = append(val, trailingBreaks...)
					}
					trailingBreaks = trailingBreaks[:0]
					leadingBreak = leadingBreak[:0]
					leadingBlanks = false
				} else {
					val = append(val, whitespaces...)
					whitespaces = whitespaces[:0]
				}
			}
			if cooked {
				val = s.read(val)
			} else {
				s.skip()
			}
			end, endPos = s.m, s.pos
		}
		if !(s.isBlank(0) || s.isBreak(0)) {
			break
		}
		for s.isBlank(0) || s.isBreak(0) {
			if s.isBlank(0) {
				if leadingBlanks && s.m.column < indent && s.at(0) == '\t' {
					return token{}, s.scanError("while scanning a plain scalar", start, "found a tab character that violates indentation")
				}
				if !leadingBlanks {
					whitespaces = s.read(whitespaces)
				} else {
					s.skip()
				}
			} else if !leadingBlanks {
				whitespaces = whitespaces[:0]
				leadingBreak = s.readLine(leadingBreak)
				leadingBlanks = true
			} else {
				trailingBreaks = s.readLine(trailingBreaks)
			}
		}
		if s.flowLevel == 0 && s.m.column < indent {
			break
		}
	}
	value, off := string(val), -1
	if !cooked {
		value, off = s.src[from:endPos], from
	}
	if leadingBlanks {
		s.simpleKeyOK = true
	}
	return token{kind: tokScalar, style: stylePlain, start: start, end: end, value: value, off: off}, true
}
