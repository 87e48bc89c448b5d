package subject

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/internal/manifestgen"
	"go.yaml.in/yaml/v3"
)

// parseOwn reads every document of src with this package's parser.
func parseOwn(src string) (*tree, []nodeID, error) {
	p, yerr := newYAMLParser(src, 0)
	if yerr != nil {
		return nil, nil, yerr
	}
	var roots []nodeID
	for {
		root, done, yerr := p.next()
		if yerr != nil {
			return p.t, roots, yerr
		}
		if done {
			return p.t, roots, nil
		}
		roots = append(roots, root)
	}
}

// parseV3 reads every document of src with yaml.v3, into a tree.
func parseV3(src string) (*tree, []nodeID, error) {
	t := newTree("")
	c := t.converter(0)
	dec := yaml.NewDecoder(strings.NewReader(src))
	var docs []*yaml.Node
	var err error
	for {
		var doc yaml.Node
		if err = dec.Decode(&doc); err != nil {
			break
		}
		docs = append(docs, &doc)
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	for _, d := range docs {
		c.findTargets(d) // aliases reach back into earlier documents
	}
	var roots []nodeID
	for _, d := range docs {
		roots = append(roots, c.convert(d))
	}
	return t, roots, err
}

// describe prints a tree's nodes, one a line: what the comparison is
// made on.
func describe(t *tree, roots []nodeID) string {
	var b strings.Builder
	fmt.Fprintf(&b, "roots %v\n", roots)
	for id := nodeID(0); int(id) < t.n; id++ {
		nd := t.node(id)
		fmt.Fprintf(&b, "%d: kind %d %d:%d", id, nd.kind, nd.line, nd.column)
		switch nd.kind {
		case kindScalar:
			fmt.Fprintf(&b, " %s %q", t.tag(id), t.value(id))
		case kindAlias:
			fmt.Fprintf(&b, " -> %d", t.deref(id))
		default:
			fmt.Fprintf(&b, " %s %v", t.tag(id), t.content(id))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// sameParse compares the two parsers on src: the same trees, or both an
// error on the same line (when yaml.v3 names one; text of characters
// yaml.v3 refuses is refused as a whole, before yaml.v3 may have reported
// a syntax error ahead of the bad character).
func sameParse(src string) error {
	if hasInnerBOM(src) {
		// yaml.v3 skips a byte order mark at the start of a line when
		// its buffer, not the line, starts with one; this parser
		// refuses one anywhere but at the start (decodeStream).
		if _, _, err := parseOwn(src); err == nil {
			return fmt.Errorf("byte order mark inside: read")
		}
		return nil
	}
	ot, oroots, oerr := parseOwn(src)
	vt, vroots, verr := parseV3(src)
	switch {
	case verr != nil && oerr == nil:
		return fmt.Errorf("yaml.v3 refuses (%v), this parser reads\n%s", verr, describe(ot, oroots))
	case verr == nil && oerr != nil:
		return fmt.Errorf("this parser refuses (%v), yaml.v3 reads\n%s", oerr, describe(vt, vroots))
	case verr != nil:
		want := yamlErrorLine(verr)
		var ye *yamlError
		if !errors.As(oerr, &ye) {
			return fmt.Errorf("error %T %v", oerr, oerr)
		}
		if want != 0 && ye.line() != want && !ye.reader {
			return fmt.Errorf("error on line %d (%v), yaml.v3 on line %d (%v)", ye.line(), oerr, want, verr)
		}
		return nil
	}
	if o, v := describe(ot, oroots), describe(vt, vroots); o != v {
		return fmt.Errorf("trees differ:\nthis parser:\n%s\nyaml.v3:\n%s", o, v)
	}
	return nil
}

// hasInnerBOM reports a byte order mark after the start of src (UTF-16
// decoded).
func hasInnerBOM(src string) bool {
	switch {
	case strings.HasPrefix(src, "\xff\xfe"):
		text, err := decodeUTF16(src[2:], false)
		return err == nil && strings.Contains(text, byteOrderMark)
	case strings.HasPrefix(src, "\xfe\xff"):
		text, err := decodeUTF16(src[2:], true)
		return err == nil && strings.Contains(text, byteOrderMark)
	}
	return strings.Contains(strings.TrimPrefix(src, byteOrderMark), byteOrderMark)
}

// parserCases are inputs that exercise every path of the scanner and
// parser, and the places where yaml.v3 departs from the YAML
// specification.
var parserCases = []string{
	"", "\n", "# only\n", "---\n", "--- \n...\n", "...\n", "a", "a: b", "a: b\n", "- a\n- b\n",
	"a:\n  - b\n  - c\nd: e\n", "a:\n- b\n- c\n", "? a\n: b\n", "? a\n? b\n", "? - a\n  - b\n: c\n", ": a\n",
	"a: b\nc\n", "a: b\n c: d\n", "a:\n  b: c\n d: e\n", "- - a\n  - b\n- c\n", "- a: b\n  c: d\n- e\n",
	"[a, b, c]", "[a, [b, c], {d: e}]", "{a: b, c: [d]}", "{a, b: c}", "[a: b, c]", "[? a : b]", "[? a]", "[? : x]",
	"{? a : b}", "{a: }", "{: b}", "[a,]", "[,]", "{a: b,}", "[a b]", "{a b}", "[a\n, b]", "{a: [b}", "[a: b: c]",
	"a: [b\nc]", "a: {b: c\n  d: e}\n", "[\n  a,\n  b\n]\n", "{\"a\":\"b\"}", "{\"a\":b}", "[a:b]", "{a:b}", "a:b: c",
	"'a'", "'a''b'", "'a\n  b'", "'a\n\n  b'", "\"a\\tb\"", "\"\\x41\\u00e9\\U0001F600\"", "\"\\q\"", "\"\\xZZ\"",
	"\"a\\\n  b\"", "\"a\n  b\n\n c\"", "\"\\uD800\"", "\"unterminated", "'unterminated", "\"a\"b", "a: \"b\"c",
	"a: 'b' # c\n", "a: |\n  b\n  c\n", "a: >\n  b\n  c\n\n  d\n", "a: |-\n  b\n\n", "a: |+\n  b\n\n", "a: |2\n   b\n",
	"a: |0\n b\n", "a: >\n\n  b\n", "a: |\n  b\n c\n", "a: |\nb\n", "- |\n  a\n- b\n", "a: | # c\n  b\n", "a: |x\n",
	"a: >\n  b\n   c\n  d\n", "|\n a\n  b\n", ">\n a\n\n b\n", "a: |\n\t b\n",
	"&a x", "&a [*a]", "a: &x b\nc: *x\n", "a: *x\n", "&a\n", "!!str\n", "&a !!str\n", "!!str &a x", "! x", "!x y",
	"!!int x", "!<tag:yaml.org,2002:str> x", "!<!> x", "%TAG !e! tag:example.com,2000:\n---\n!e!x y\n", "!e!x y",
	"%YAML 1.1\n---\na\n", "%YAML 1.2\n---\na\n", "%YAML 1.1\n%YAML 1.1\n---\na\n", "%FOO\n---\na\n", "%YAML 1.1\na\n",
	"%TAG ! tag:x,1:\n---\n!a b\n", "%TAG !! tag:x,1:\n---\n!!str b\n", "%TAG !e! a\n%TAG !e! b\n---\nc\n",
	"!!str%41 x", "!!str%ZZ x", "!%C3%A9 x", "!%80 x", "!<a> x", "!<a x", "!a,b x", "[!a, b]",
	"a: b # c\nd: e # f\n", "# a\n# b\nc: d\n", "a:\n  # c\n  b: d\n", "- a # c\n- b\n", "a: b\n\t# c\n",
	"#c1\n\t#c2\na: b\n", "a: b\n#c1\n\t#c2\nd: e\n", "a:\t# c\n  b\n", "a:\tb\n", "a:\n\tb: c\n", "- \ta\n", "-\ta\n",
	"a: b\t#c\n", "[a,\t# c\n b]", "{a: b\t# c\n}", "key:    # c\n  - x\n",
	"a: b\r\nc: d\r\n", "a: b\rc: d\r", "a: b\u0085c: d", "a: \"b\u2028c\"", "\ufeffa: b", "a: b\n\ufeffc: d\n",
	"a: b\x00", "a: \x01", "a: \x7f", "a: \xc3", "a: \xff", "a: \xed\xa0\x80", "\xff\xfea\x00:\x00 \x00b\x00\n\x00",
	"\xfe\xff\x00a\x00:\x00 \x00b\x00\n", "\xff\xfea", "\xff\xfe\x00\xd8",
	"--- a\n--- b\n", "a\n---\nb\n...\n---\nc\n", "a: b\n...\nc: d\n", "--- |\n  a\n--- >\n  b\n", "---\n---\n",
	"a: 1\n---\nb: *x\n", "a: &x 1\n---\nb: *x\n", "--- &x a\n--- *x\n", "- &a\n- *a\n",
	"a: b\n ...\n", "a: '\n---\n'", "a: \"\n...\n\"", "a\n---", "a: -b", "a: - b", "- - - a", "-a", "--- -",
	"a: @b", "a: `b", "@a", "a: %b", "%a", "a: b\n%c\n", "a: ,b", "[a,, b]", "{,}", "a: ]", "a: }", "]", "}",
	"a: b: c", "a:\n  b\nc: d", "a: b\n  c\n", "a:\n  - b\n  c: d\n", "- a\nb: c\n", "a: [b,\nc]\n",
	"? |\n  a\n: b\n", "? a\n: b\n: c\n", "? a\n? b\n: c\n", "?\n: a\n", "- ? a\n  : b\n", "[a, ? b]",
	"a: b\nc:\n", "a:\n", "a:\n\n", "- \n- a\n", "-\n-\n", "a: &b\n", "a: !!null\n", "{a: !!str}", "[!!str]",
	"a: b\n  # c\nd: e\n", strings.Repeat("a", 1030) + ": b\n", "? " + strings.Repeat("a", 1030) + "\n: b\n",
	"[" + strings.Repeat("a", 1030) + ": b]", "a: \"" + strings.Repeat("b", 2000) + "\"\n",
	strings.Repeat("[", 200) + strings.Repeat("]", 200), strings.Repeat("- ", 300) + "a\n",
	"a: " + strings.Repeat(" ", 600) + "# c\n", "#c\n" + strings.Repeat(" ", 600) + "#d\na: b\n",
	"a:\n  b:\n    c: d\n  e: f\ng: h\n", "a: b\n c\n d: e\n", "a: b c\n  d\n", "a: b\n\n  c\n", "plain\n  multi\n\n  line\n",
	"- a\n  b\n- c\n", "a: b # c\n  d\n", "a:\n- b\n -c\n", "\t", " \ta: b", "a: b\n\t", "- a\n\t- b",
	"<<: {a: b}\n", "'<<': a\n", "!!merge <<: a\n", "<<: &x 1\n", "a: !!binary aGk=\n", "a: !!binary |\n  aGk=\n",
	"a: 0x1F\nb: 1e3\nc: .inf\nd: 2001-12-14\ne: true\nf: ~\ng: 0o17\nh: -0b11\ni: +1\nj: 1_000\n",
	"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: alpine:3.19\n",
}

// TestParserMatchesYAMLv3: on every case, on generated manifests and on
// the fuzz corpora, this parser reads the same trees as yaml.v3, or
// refuses what it refuses, on the same line.
func TestParserMatchesYAMLv3(t *testing.T) {
	inputs := append([]string(nil), parserCases...)
	for _, doc := range manifestgen.Documents(300, 3) {
		inputs = append(inputs, doc.Src)
	}
	inputs = append(inputs, generated(200, 5))
	inputs = append(inputs, corpus(t)...)
	for i, src := range inputs {
		if err := sameParse(src); err != nil {
			t.Errorf("input %d %q:\n%v", i, src, err)
		}
	}
}

// corpus is every string input of the package's fuzz corpora.
func corpus(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/fuzz/*/*")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		for _, l := range lines[1:] {
			if s, ok := strings.CutPrefix(l, "string("); ok {
				if v, err := strconv.Unquote(strings.TrimSuffix(s, ")")); err == nil {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// FuzzParserMatchesYAMLv3: whatever the input, this parser reads what
// yaml.v3 reads, or refuses what it refuses.
func FuzzParserMatchesYAMLv3(f *testing.F) {
	for _, s := range parserCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if err := sameParse(src); err != nil {
			t.Fatalf("input %q:\n%v", src, err)
		}
	})
}
