package rebase

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Dockerfile is a Dockerfile's FROM lines, located byte by byte.
type Dockerfile struct {
	Name  string
	Data  []byte
	Froms []*From
}

// FromKind says what a FROM names.
type FromKind int

// What a FROM names.
const (
	FromImage   FromKind = iota // a registry image
	FromStage                   // an earlier stage
	FromScratch                 // nothing
)

// From is one FROM instruction.
type From struct {
	// Line is the instruction's first line.
	Line int
	// Stage is its AS name, empty when none.
	Stage string
	// Word is the image as written, variables unexpanded.
	Word string
	// Image is Word with the global ARGs' defaults.
	Image string
	Kind  FromKind
	// word locates Word; parts split it into literals and variables, nil
	// with why set when it cannot be rewritten.
	word  span
	parts []part
	why   string
}

// span is a range of bytes in the file.
type span struct{ start, end int }

// part is a piece of a FROM word: literal text, or a variable whose value
// is a global ARG's default.
type part struct {
	text string // the literal, or the variable's value
	at   span   // where the text is in the file: in the FROM word, or the ARG's default
	arg  string // the variable, empty for a literal
}

// Error is a Dockerfile that cannot be read, at a line.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ParseDockerfile reads a Dockerfile's FROM lines with BuildKit's parser
// and locates each image reference, and the ARG defaults it comes from, in
// the file's bytes.
func ParseDockerfile(file string, data []byte) (*Dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		e := &Error{File: file, Msg: err.Error()}
		var le *parser.LocationError
		if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
			e.Line = le.Locations[0][0].Start.Line
		}
		return nil, e
	}
	df := &Dockerfile{Name: file, Data: data}
	lines := splitLines(data)
	args := globalArgs{lex: shell.NewLex(res.EscapeToken), values: map[string]argValue{}}
	var stages []string
	for _, n := range res.AST.Children {
		text, offs := logicalLine(data, lines, n.StartLine, n.EndLine, res.EscapeToken)
		switch strings.ToLower(n.Value) {
		case "arg":
			if len(stages) == 0 {
				args.declare(n, text, offs, res.EscapeToken)
			}
		case "from":
			f, err := readFrom(file, n, text, offs, res.EscapeToken, &args, stages)
			if err != nil {
				return nil, err
			}
			df.Froms = append(df.Froms, f)
			stages = append(stages, f.Stage)
		}
	}
	if len(df.Froms) == 0 {
		return nil, &Error{File: file, Msg: "no FROM instruction"}
	}
	return df, nil
}

// readFrom reads one FROM node.
func readFrom(file string, n *parser.Node, text string, offs []int, escape rune, args *globalArgs, stages []string) (*From, error) {
	if n.Next == nil {
		return nil, &Error{File: file, Line: n.StartLine, Msg: "FROM requires an image"}
	}
	f := &From{Line: n.StartLine, Word: n.Next.Value}
	if a := n.Next.Next; a != nil && strings.EqualFold(a.Value, "as") && a.Next != nil {
		f.Stage = a.Next.Value
	}
	image, err := args.expand(f.Word)
	if err != nil {
		return nil, &Error{File: file, Line: f.Line, Msg: fmt.Sprintf("expanding FROM %s: %v", f.Word, err)}
	}
	f.Image = image
	switch {
	case strings.EqualFold(image, "scratch"):
		f.Kind = FromScratch
		return f, nil
	case namesStage(stages, image):
		f.Kind = FromStage
		return f, nil
	case image == "":
		return nil, &Error{File: file, Line: f.Line, Msg: fmt.Sprintf("FROM %s expands to nothing: give the ARG a default", f.Word)}
	}
	at, ok := fromWord(text, offs, escape, len(n.Flags), f.Word)
	if !ok {
		f.why = "the reference could not be located in the file (split over lines?): edit it by hand"
		return f, nil
	}
	f.word = at
	f.parts, f.why = args.parts(f.Word, at)
	return f, nil
}

// namesStage reports whether name is an earlier stage's (stage names are
// case-insensitive).
func namesStage(stages []string, name string) bool {
	for _, s := range stages {
		if s != "" && strings.EqualFold(s, name) {
			return true
		}
	}
	return false
}

// lineSpan is a physical line without its line ending.
type lineSpan struct{ start, end int }

func splitLines(data []byte) []lineSpan {
	var out []lineSpan
	start := 0
	for start <= len(data) {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			if start < len(data) {
				out = append(out, lineSpan{start, len(data)})
			}
			break
		}
		end := start + i
		for end > start && data[end-1] == '\r' {
			end-- // BuildKit takes every \r off a line's end
		}
		out = append(out, lineSpan{start, end})
		start += i + 1
	}
	return out
}

// logicalLine joins an instruction's physical lines as BuildKit does
// (comment and empty lines inside it skipped, line continuations taken
// off) and maps each byte of the result to its offset in the file.
func logicalLine(data []byte, lines []lineSpan, first, last int, escape rune) (string, []int) {
	var b strings.Builder
	var offs []int
	for ln := first; ln <= last && ln-1 < len(lines); ln++ {
		l := lines[ln-1]
		start := l.start
		if ln == 1 && bytes.HasPrefix(data[start:l.end], []byte("\xef\xbb\xbf")) {
			start += 3
		}
		raw := data[start:l.end]
		trimmed := bytes.TrimLeftFunc(raw, unicode.IsSpace)
		if ln > first && (len(trimmed) == 0 || trimmed[0] == '#') {
			continue
		}
		if ln == first {
			start += len(raw) - len(trimmed)
			raw = trimmed
		}
		raw = trimContinuation(raw, escape)
		for i := range raw {
			b.WriteByte(raw[i])
			offs = append(offs, start+i)
		}
	}
	return b.String(), offs
}

// trimContinuation takes a line continuation (the escape character and
// trailing blanks) off the end of a line.
func trimContinuation(raw []byte, escape rune) []byte {
	t := bytes.TrimRight(raw, " \t")
	if len(t) > 0 && rune(t[len(t)-1]) == escape {
		return t[:len(t)-1]
	}
	return raw
}

// fromWord locates the image word of a FROM: the first word after the
// keyword and its flags. ok is false when the word is not where BuildKit
// read it, or is split over lines.
func fromWord(text string, offs []int, escape rune, flags int, word string) (span, bool) {
	toks := tokens(text, escape)
	if len(toks) < 2+flags {
		return span{}, false
	}
	t := toks[1+flags]
	if text[t.start:t.end] != word || !contiguous(offs, t) {
		return span{}, false
	}
	return span{offs[t.start], offs[t.end-1] + 1}, true
}

func contiguous(offs []int, t span) bool {
	return t.end > t.start && offs[t.end-1]-offs[t.start] == t.end-1-t.start
}

// tokens splits a logical line into words at blanks, keeping quoted text
// (and escaped characters) inside a word, as BuildKit reads flags and ARG
// arguments.
func tokens(text string, escape rune) []span {
	var out []span
	start, quote := -1, byte(0)
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if rune(c) == escape && quote == '"' && i+1 < len(text) {
				i++
			}
		case c == ' ' || c == '\t' || c == '\f' || c == '\r' || c == '\v':
			if start >= 0 {
				out = append(out, span{start, i})
				start = -1
			}
		default:
			if start < 0 {
				start = i
			}
			if c == '"' || c == '\'' {
				quote = c
			} else if rune(c) == escape && i+1 < len(text) {
				i++
			}
		}
	}
	if start >= 0 {
		out = append(out, span{start, len(text)})
	}
	return out
}
