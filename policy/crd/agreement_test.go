package crd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/policy"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// load runs the policy loader and compiler on a policy whose spec is
// given: nil when it loads.
func load(spec map[string]any) error {
	doc := map[string]any{"apiVersion": policy.APIVersion, "kind": policy.Kind, "metadata": map[string]any{"name": "p"}, "spec": spec}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	ps, err := policy.Load(policy.File{Name: "probe.yaml", Data: data})
	if err != nil {
		return err
	}
	_, err = policy.NewSet(ps)
	return err
}

// at builds a spec holding leaf at path (property names; "[]" for a list
// item).
func at(path []string, leaf map[string]any) map[string]any {
	var v any = leaf
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == "[]" {
			v = []any{v}
		} else {
			v = map[string]any{path[i]: v}
		}
	}
	return v.(map[string]any)
}

// objects lists the paths of the schema's objects with properties, below
// spec.
func objects(s *props, path []string, visit func(path []string, s *props)) {
	switch {
	case s.Type == "object" && s.Properties != nil:
		visit(path, s)
		for _, name := range sortedProps(s) {
			p := s.Properties[name]
			objects(&p, append(append([]string(nil), path...), name), visit)
		}
	case s.Type == "array":
		objects(s.Items.Schema, append(append([]string(nil), path...), "[]"), visit)
	}
}

func unique(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func sortedProps(s *props) []string {
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var knownFields = regexp.MustCompile(`unknown field "zzz" \(known: ([^)]*)\)`)

// TestSchemaHasEveryFieldTheLoaderReads puts an unknown field in each
// object of the schema and reads, from the loader's refusal, the fields it
// knows there: they must be the schema's properties, no more, no fewer.
func TestSchemaHasEveryFieldTheLoaderReads(t *testing.T) {
	spec, cut, err := specSchema(nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	objects(spec, nil, func(path []string, s *props) {
		n++
		t.Run("spec."+strings.Join(path, "."), func(t *testing.T) {
			err := load(at(path, map[string]any{"zzz": "x"}))
			m := knownFields.FindStringSubmatch(fmt.Sprint(err))
			if m == nil {
				t.Fatalf("the loader does not refuse an unknown field here: %v", err)
			}
			loader := strings.Split(m[1], ", ")
			schema := sortedProps(s)
			if len(path) > 0 && path[len(path)-1] == "exclude" {
				// Cut from the schema: the loader reads it and refuses it
				// (TestExcludeInExcludeDoesNotLoad).
				schema = append(schema, "exclude")
				sort.Strings(schema)
			}
			if diff := cmp.Diff(loader, schema); diff != "" {
				t.Errorf("fields the loader reads (-) and the schema has (+):\n%s", diff)
			}
		})
	})
	if n < 10 {
		t.Errorf("only %d objects in the schema", n)
	}
	if diff := cmp.Diff([]string{"Match.exclude"}, unique(cut)); diff != "" {
		t.Errorf("recursive fields cut from the schema (-want +got):\n%s", diff)
	}
}

// TestExcludeInExcludeDoesNotLoad: what the schema leaves out never loads.
func TestExcludeInExcludeDoesNotLoad(t *testing.T) {
	rule := map[string]any{"name": "r", "deny": []any{"*centos*"}}
	spec := map[string]any{"rules": []any{rule}, "match": map[string]any{
		"exclude": map[string]any{"names": []any{"a"}, "exclude": map[string]any{"names": []any{"b"}}},
	}}
	if err := load(spec); err == nil || !strings.Contains(err.Error(), "an exclude holds no exclude") {
		t.Errorf("an exclude in an exclude: %v", err)
	}
}

// publicKey is an inline PEM public key, as signedBy takes one.
var publicKey = func() string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}()

// valid is a spec that loads, for tests that change one field of it.
func valid() map[string]any {
	return map[string]any{
		"action": "enforce",
		"rules": []any{map[string]any{
			"name": "r", "deny": []any{"*centos*"},
			"signedBy": map[string]any{"keys": []any{publicKey}},
			"vulnerabilities": map[string]any{
				"keys": []any{publicKey}, "failOn": "critical",
				"ignore": []any{map[string]any{"id": "CVE-2024-0001", "expires": "2030-01-01", "reason": "not reachable"}},
			},
			"match": map[string]any{
				"operations": []any{"CREATE"},
				"selector":   map[string]any{"matchExpressions": []any{map[string]any{"key": "tier", "operator": "In", "values": []any{"a"}}}},
			},
			"actionOverrides": []any{map[string]any{"action": "warn", "namespaces": []any{"dev"}}},
		}},
		"actionOverrides": []any{map[string]any{"action": "audit", "namespaces": []any{"test"}}},
		"exceptions":      []any{map[string]any{"name": "e", "reason": "why", "rules": []any{"r"}}},
		"workloads":       []any{map[string]any{"apiVersion": "example.com/v1", "kind": "Runner", "templatePath": "spec.template"}},
	}
}

// set replaces the value at a path of dotted names and list indexes
// (`rules.0.action`) in spec; a nil value deletes it.
func set(spec map[string]any, path string, v any) map[string]any {
	parts := strings.Split(path, ".")
	var cur any = spec
	for _, p := range parts[:len(parts)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			var i int
			fmt.Sscan(p, &i)
			cur = c[i]
		}
	}
	m := cur.(map[string]any)
	if v == nil {
		delete(m, parts[len(parts)-1])
	} else {
		m[parts[len(parts)-1]] = v
	}
	return spec
}

// enumFields are where each enumeration is written in valid().
var enumFields = []struct {
	path   string
	values []string
	list   bool
}{
	{"action", actions, false},
	{"onResolveError", resolveErrors, false},
	{"rules.0.action", actions, false},
	{"rules.0.scope", scopes, false},
	{"rules.0.actionOverrides.0.action", actions, false},
	{"rules.0.match.operations", operations, true},
	{"rules.0.match.selector.matchExpressions.0.operator", labelOperations, false},
}

// TestEnumsAreTheLoaders: every value an enum allows loads, values it
// refuses do not (an empty string aside, which the loader reads as unset).
func TestEnumsAreTheLoaders(t *testing.T) {
	if err := load(valid()); err != nil {
		t.Fatalf("the base spec does not load: %v", err)
	}
	for _, f := range enumFields {
		candidates := append([]string{"bogus", "ENFORCE", "Enforce", "in", "create", "*"}, f.values...)
		for _, c := range candidates {
			t.Run(f.path+"="+c, func(t *testing.T) {
				var v any = c
				if f.list {
					v = []any{c}
				}
				spec := set(valid(), f.path, v)
				if c == "Exists" || c == "DoesNotExist" {
					spec = set(spec, strings.Replace(f.path, "operator", "values", 1), nil)
				}
				err := load(spec)
				allowed := contains(f.values, c)
				if allowed && err != nil {
					t.Errorf("the schema allows %q, the loader refuses it: %v", c, err)
				}
				if !allowed && err == nil {
					t.Errorf("the schema refuses %q, the loader accepts it", c)
				}
			})
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// loaderStricter are the plain strings of the schema the loader checks
// further (the schema is a first filter, never stricter than the loader).
var loaderStricter = map[string]string{
	"rules.0.name": "exceptions name rules: valid()'s names this one",
	"rules.0.match.selector.matchExpressions.0.key": "a label key's syntax, checked by apimachinery",
}

// TestPlainStringsLoadAnyValue: a string the schema leaves free (no enum,
// no pattern) loads whatever it holds, so that a field the loader limits
// to a few values (an enum added to the model) cannot be missing from the
// field table unnoticed.
func TestPlainStringsLoadAnyValue(t *testing.T) {
	spec, _, err := specSchema(nil)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	objects(spec, nil, func(path []string, s *props) {
		where, ok := validHas[strings.Join(path, ".")]
		if !ok {
			return
		}
		for _, name := range sortedProps(s) {
			p := s.Properties[name]
			if p.Type != "string" || len(p.Enum) > 0 || p.Pattern != "" {
				continue
			}
			field := strings.TrimPrefix(where+"."+name, ".")
			if _, ok := loaderStricter[field]; ok {
				continue
			}
			checked++
			t.Run(field, func(t *testing.T) {
				if err := load(set(valid(), field, "bogus value")); err != nil {
					t.Errorf("the schema takes any string; the loader refuses one: %v", err)
				}
			})
		}
	})
	if checked < 5 {
		t.Errorf("checked %d plain strings", checked)
	}
}

// validHas maps objects of the schema to where valid() has one.
var validHas = map[string]string{
	"":                            "",
	"rules.[]":                    "rules.0",
	"rules.[].actionOverrides.[]": "rules.0.actionOverrides.0",
	"rules.[].match.selector.matchExpressions.[]": "rules.0.match.selector.matchExpressions.0",
	"exceptions.[]":                      "exceptions.0",
	"rules.[].signedBy":                  "rules.0.signedBy",
	"rules.[].vulnerabilities":           "rules.0.vulnerabilities",
	"rules.[].vulnerabilities.ignore.[]": "rules.0.vulnerabilities.ignore.0",
	"workloads.[]":                       "workloads.0",
}

// TestRequiredFieldsAreTheLoaders: a spec without a field the schema
// requires does not load, nor an empty list where it wants an item, nor a
// second rule of the same name (rules are a list keyed by name).
func TestRequiredFieldsAreTheLoaders(t *testing.T) {
	spec, _, err := specSchema(nil)
	if err != nil {
		t.Fatal(err)
	}
	paths := validHas
	checked := 0
	// Objects of the same properties are of the same Go type: one of each
	// is checked.
	seen := map[string]bool{}
	var unchecked []string
	objects(spec, nil, func(path []string, s *props) {
		kind := strings.Join(sortedProps(s), ",")
		where, ok := paths[strings.Join(path, ".")]
		if !ok {
			if len(s.Required) > 0 {
				unchecked = append(unchecked, kind)
			}
			return
		}
		seen[kind] = true
		for _, req := range s.Required {
			name := strings.TrimPrefix(where+"."+req, ".")
			checked++
			t.Run("without "+name, func(t *testing.T) {
				if err := load(set(valid(), name, nil)); err == nil {
					t.Errorf("the schema requires %s; the loader accepts a spec without it", name)
				}
			})
		}
	})
	for _, kind := range unchecked {
		if !seen[kind] {
			t.Errorf("an object with properties %s has required fields: add where valid() has one to this test", kind)
		}
	}
	if checked < 10 {
		t.Errorf("checked %d required fields", checked)
	}
	for name, spec := range map[string]map[string]any{
		"no rules":            set(valid(), "rules", []any{}),
		"two rules named r":   set(valid(), "rules", []any{map[string]any{"name": "r", "deny": []any{"a"}}, map[string]any{"name": "r", "deny": []any{"b"}}}),
		"a rule without name": set(valid(), "rules.0.name", ""),
		"an empty pattern":    set(valid(), "rules.0.deny", []any{""}),
	} {
		t.Run(name, func(t *testing.T) {
			if err := load(spec); err == nil {
				t.Errorf("the schema refuses it; the loader accepts it")
			}
		})
	}
}

// TestStatusFitsItsSchema: every field serve writes in a status is in the
// status schema (the API server would drop it silently otherwise).
func TestStatusFitsItsSchema(t *testing.T) {
	st := Status{
		ObservedGeneration: 3, Rules: 2, Notes: []string{"n"},
		InForce: &InForce{Generation: 2, Spec: json.RawMessage(`{"rules":[]}`)},
	}
	st.Conditions = append(st.Conditions, readyCondition())
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	json.Unmarshal(raw, &m)
	s := StatusSchema()
	var missing []string
	fits(m, &s, "status", &missing)
	if len(missing) > 0 {
		t.Errorf("not in the status schema: %v", missing)
	}
}

func fits(v any, s *props, path string, missing *[]string) {
	if s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p, ok := s.Properties[k]
			if !ok {
				*missing = append(*missing, path+"."+k)
				continue
			}
			fits(x, &p, path+"."+k, missing)
		}
	case []any:
		for _, x := range v {
			fits(x, s.Items.Schema, path+"[]", missing)
		}
	}
}

func readyCondition() metav1.Condition {
	return metav1.Condition{Type: ConditionReady, Status: metav1.ConditionTrue, ObservedGeneration: 3, LastTransitionTime: metav1.Now(), Reason: ReasonInForce, Message: "m"}
}
