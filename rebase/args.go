package rebase

import (
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// defaultPlatform is what BuildKit's platform ARGs mean in a FROM when
// reading a Dockerfile without building it: the most common target.
const defaultPlatform = "linux/amd64"

// platformArgs are BuildKit's automatic platform ARGs: a FROM that uses
// one names a different image per platform and is not rewritten.
var platformArgs = map[string]bool{
	"TARGETPLATFORM": true, "TARGETOS": true, "TARGETARCH": true, "TARGETVARIANT": true,
	"BUILDPLATFORM": true, "BUILDOS": true, "BUILDARCH": true, "BUILDVARIANT": true,
}

// globalArgs are the ARGs before the first FROM, the only ones a FROM sees.
type globalArgs struct {
	lex    *shell.Lex
	values map[string]argValue
}

// argValue is an ARG's default and where it is written.
type argValue struct {
	value string
	at    span   // the default's text in the file, without quotes
	why   string // why the default cannot be rewritten, empty when it can
}

// declare records the ARGs of one ARG instruction; a later declaration of
// the same name replaces an earlier one.
func (g *globalArgs) declare(n *parser.Node, text string, offs []int, escape rune) {
	toks := tokens(text, escape)
	for _, t := range toks[1:] {
		word := text[t.start:t.end]
		key, raw, hasValue := strings.Cut(word, "=")
		if !hasValue {
			g.values[key] = argValue{why: fmt.Sprintf("ARG %s at line %d has no default", key, n.StartLine)}
			continue
		}
		v := argValue{why: fmt.Sprintf("the default of ARG %s at line %d is not a plain reference", key, n.StartLine)}
		expanded, err := g.lex.ProcessWordWithMatches(raw, g.env())
		if err == nil {
			v.value = expanded.Result
		}
		inner, start := unquote(raw)
		vstart := t.start + len(key) + 1 + start
		vt := span{vstart, vstart + len(inner)}
		switch {
		case err != nil, inner == "", strings.ContainsAny(inner, `$"'`), strings.ContainsRune(inner, escape), inner != v.value:
		case !contiguous(offs, vt):
			v.why = fmt.Sprintf("the default of ARG %s at line %d is split over lines", key, n.StartLine)
		default:
			v.at, v.why = span{offs[vt.start], offs[vt.end-1] + 1}, ""
		}
		g.values[key] = v
	}
}

// unquote takes one pair of matching quotes off a value, returning the
// inside and where it starts.
func unquote(raw string) (string, int) {
	if len(raw) >= 2 && (raw[0] == '"' || raw[0] == '\'') && raw[len(raw)-1] == raw[0] {
		return raw[1 : len(raw)-1], 1
	}
	return raw, 0
}

// env is what a FROM sees: the platform ARGs for the default platform and
// the global ARGs' defaults.
func (g *globalArgs) env() shell.EnvGetter {
	osName, arch, _ := strings.Cut(defaultPlatform, "/")
	kv := []string{
		"TARGETPLATFORM=" + defaultPlatform, "TARGETOS=" + osName, "TARGETARCH=" + arch, "TARGETVARIANT=",
		"BUILDPLATFORM=" + defaultPlatform, "BUILDOS=" + osName, "BUILDARCH=" + arch, "BUILDVARIANT=",
	}
	for k, v := range g.values {
		kv = append(kv, k+"="+v.value)
	}
	return shell.EnvsFromSlice(kv)
}

// expand is a FROM word with the ARGs' defaults, as BuildKit expands it.
func (g *globalArgs) expand(word string) (string, error) {
	r, err := g.lex.ProcessWordWithMatches(word, g.env())
	if err != nil {
		return "", err
	}
	return r.Result, nil
}

// parts splits a FROM word at its variables ($NAME, ${NAME}), each with
// the ARG default it stands for and where that is written. why says why
// the word cannot be rewritten, when it cannot.
func (g *globalArgs) parts(word string, at span) ([]part, string) {
	if strings.ContainsAny(word, `"'\`+"`") {
		return nil, "the reference has quotes or escapes: edit it by hand"
	}
	var out []part
	lit := 0
	for i := 0; i < len(word); i++ {
		if word[i] != '$' {
			continue
		}
		name, n := varAt(word[i:])
		if name == "" {
			return nil, fmt.Sprintf("%s uses a form of variable baseguard does not rewrite: edit it by hand", word)
		}
		if platformArgs[name] {
			return nil, fmt.Sprintf("%s depends on the target platform ($%s): edit it by hand", word, name)
		}
		if i > lit {
			out = append(out, part{text: word[lit:i], at: span{at.start + lit, at.start + i}})
		}
		v := g.values[name]
		out = append(out, part{text: v.value, at: v.at, arg: name})
		i += n - 1
		lit = i + 1
	}
	if lit < len(word) {
		out = append(out, part{text: word[lit:], at: span{at.start + lit, at.start + len(word)}})
	}
	return out, ""
}

// varAt reads $NAME or ${NAME} at the start of s, returning the name and
// the length read; an empty name for any other form.
func varAt(s string) (string, int) {
	if len(s) > 1 && s[1] == '{' {
		end := strings.IndexByte(s, '}')
		if end < 0 || !isName(s[2:end]) {
			return "", 0
		}
		return s[2:end], end + 1
	}
	n := 1
	for n < len(s) && (s[n] == '_' || isAlnum(s[n])) {
		n++
	}
	if !isName(s[1:n]) {
		return "", 0
	}
	return s[1:n], n
}

func isName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '_' && !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
