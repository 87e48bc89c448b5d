package admission

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
	kjson "sigs.k8s.io/json"
)

// asDecoded turns a tree into the values kube-apiserver's decoder makes of
// the same JSON: maps, slices, strings, int64 (float64 beyond int64),
// float64, bools and nil.
func asDecoded(n *yaml.Node) any {
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = asDecoded(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			s[i] = asDecoded(c)
		}
		return s
	}
	switch n.Tag {
	case "!!str":
		return n.Value
	case "!!bool":
		return n.Value == "true"
	case "!!null":
		return nil
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			return i
		}
	}
	f, _ := strconv.ParseFloat(n.Value, 64)
	return f
}

// nanEqual compares floats as the decoder makes them (no NaN in JSON).
var floatsExact = cmp.Comparer(func(a, b float64) bool { return a == b || (math.IsInf(a, 0) && a == b) })

func TestObjectTree(t *testing.T) {
	cases := []struct {
		name, json string
		want       any
		err        string
	}{
		{"keys keep their case", `{"image": "a", "Image": "b"}`, map[string]any{"image": "a", "Image": "b"}, ""},
		{"escapes", `{"a": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00<\u003c"}`, map[string]any{"a": "x\"\\/\b\f\n\r\té😀<<"}, ""},
		{"non-ASCII", `{"é": "ünïcode"}`, map[string]any{"é": "ünïcode"}, ""},
		{"invalid UTF-8 is replaced", "{\"a\": \"x\xffy\"}", map[string]any{"a": "x\uFFFDy"}, ""},
		{"numbers", `{"i": -12, "z": 0, "f": 1.5, "e": 1e3, "E": -2.5E-3, "big": 123456789012345678901234567890}`,
			map[string]any{"i": int64(-12), "z": int64(0), "f": 1.5, "e": 1000.0, "E": -0.0025, "big": 1.2345678901234568e29}, ""},
		{"literals", `{"t": true, "f": false, "n": null}`, map[string]any{"t": true, "f": false, "n": nil}, ""},
		{"nesting and empties", ` { "a" : [ {}, [], [1, [2, {"b": []}]] ] } `, map[string]any{"a": []any{map[string]any{}, []any{}, []any{int64(1), []any{int64(2), map[string]any{"b": []any{}}}}}}, ""},
		{"a key twice", `{"a": 1, "b": 2, "a": 3}`, nil, `duplicate key "a"`},
		{"a key twice in a large mapping", `{` + strings.Repeat(`"k": 1, `, 1) + manyKeys(40) + `, "k": 2}`, nil, `duplicate key "k"`},
		{"a key twice, once escaped", `{"a": 1, "\u0061": 2}`, nil, `duplicate key "a"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.json)
			tree, err := objectTree(raw, countValues(raw), getSlab(countValues(raw)))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, errDuplicateKey) {
					t.Fatalf("error %v, want one saying %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, asDecoded(tree), floatsExact); diff != "" {
				t.Errorf("tree differs (-want +got):\n%s", diff)
			}
		})
	}
}

func manyKeys(n int) string {
	var keys []string
	for i := range n {
		keys = append(keys, `"k`+strconv.Itoa(i)+`": 0`)
	}
	return strings.Join(keys, ", ")
}

// FuzzObjectTreeMatchesDecoder: for any JSON kube-apiserver's decoder
// reads, the tree holds what the decoder makes of it, value for value, or
// refuses a key given twice; countValues never counts fewer nodes than the
// tree holds.
func FuzzObjectTreeMatchesDecoder(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "requests", "*.json"))
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add([]byte(`{"a": "\u00e9\ud800", "b": [1e400, -0, 0.5]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var want any
		if kjson.UnmarshalCaseSensitivePreserveInts(raw, &want) != nil {
			return // not JSON: the review's decoding refuses it first
		}
		values := countValues(raw)
		tree, err := objectTree(raw, values, getSlab(values))
		if errors.Is(err, errDuplicateKey) {
			if !hasDuplicateKey(t, raw) {
				t.Fatalf("duplicate key reported where there is none: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("objectTree refuses JSON the decoder reads: %v", err)
		}
		if diff := cmp.Diff(want, asDecoded(tree), floatsExact); diff != "" {
			t.Errorf("tree differs from the decoder (-decoder +tree):\n%s", diff)
		}
		if n := nodes(tree); n > values {
			t.Errorf("countValues = %d, the tree holds %d nodes", values, n)
		}
	})
}

func nodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += nodes(k)
	}
	return c
}

// hasDuplicateKey looks for a key given twice with encoding/json's token
// reader.
func hasDuplicateKey(t *testing.T, raw []byte) bool {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &frame{object: v == '{', keys: map[string]bool{}, key: v == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.object && top.key {
				if top.keys[v] {
					return true
				}
				top.keys[v] = true
				top.key = false
				continue
			}
		}
		if top != nil && top.object {
			top.key = true
		}
	}
}
