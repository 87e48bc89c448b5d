package policy_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/policy"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// object decodes a YAML object as the API server returns it (JSON types).
func object(t testing.TB, doc string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func nativeObject(spec string) string {
	return "apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata: {name: web, uid: 1234, generation: 3, managedFields: [{manager: kubectl}]}\nspec:\n" + spec + "\nstatus: {rules: 9}\n"
}

func kyvernoObject(rules string) string {
	return "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: kp}\nspec:\n  validationFailureAction: Enforce\n  rules:\n" + rules
}

const denyCentos = `
    - name: no-centos
      match: {any: [{resources: {kinds: [Pod]}}]}
      validate:
        message: no centos
        pattern: {spec: {containers: [{image: "!*centos*"}]}}
`

// TestLoadObjectNamesTheField: an object that does not load says which
// field is at fault, by path, never by a line of a file the user never saw.
func TestLoadObjectNamesTheField(t *testing.T) {
	cases := []struct {
		name, doc   string
		field, says string
		notApplied  bool
	}{
		{"a rule that checks nothing", nativeObject("  rules:\n  - {name: ok, deny: [a]}\n  - {name: empty, message: nothing}"),
			"spec.rules[1]", `rule "empty" checks nothing`, false},
		{"an unknown field", nativeObject("  rules:\n  - name: r\n    deny: [a]\n    alow: [b]"),
			"spec.rules[0].alow", `unknown field "alow"`, false},
		{"a bad pattern", nativeObject("  rules:\n  - name: r\n    deny: [a, 'b | c']"),
			"spec.rules[0].deny[1]", "holds white space or a separator", false},
		{"an exception for a rule the policy lacks", nativeObject("  rules: [{name: r, deny: [a]}]\n  exceptions: [{name: e, rules: [nope], reason: why}]"),
			"spec.exceptions[0]", `names rule "nope"`, false},
		{"an unknown kind", nativeObject("  match: {kinds: [Pod, Pdo]}\n  rules: [{name: r, deny: [a]}]"),
			"spec.match.kinds[1]", `"Pdo"`, false},
		{"a list where a string is wanted", nativeObject("  rules: [{name: r, deny: [a], message: [x]}]"),
			"spec.rules[0].message[0]", "cannot unmarshal", false},
		{"a key named by path", nativeObject("  rules: [{name: r, signedBy: {keys: [cosign.pub]}}]"),
			"spec.rules[0].signedBy.keys[0]", "a policy object cannot name a file: write the key or trusted root inline", false},
		{"no rules", nativeObject("  action: audit"),
			"", "at least one rule", false},
		{"a Kyverno mutate rule", kyvernoObject(denyCentos + "    - {name: add-label, match: {any: [{resources: {kinds: [Pod]}}]}, mutate: {patchStrategicMerge: {metadata: {labels: {a: b}}}}}\n"),
			"spec.rules[1]", `rule "add-label" does not check container images`, true},
		{"a Kyverno rule on other kinds", kyvernoObject(denyCentos + "    - {name: svc, match: {any: [{resources: {kinds: [Service]}}]}, validate: {pattern: {spec: {type: ClusterIP}}}}\n"),
			"spec.rules[1]", `rule "svc"`, true},
		{"a Kyverno verifyImages rule", kyvernoObject("    - {name: signed, match: {any: [{resources: {kinds: [Pod]}}]}, verifyImages: [{imageReferences: ['*'], attestors: []}]}\n"),
			"spec.rules[0]", `rule "signed" cannot be translated`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.LoadObject("baseimagepolicy/web", object(t, tc.doc))
			var oe *policy.ObjectError
			if !errors.As(err, &oe) {
				t.Fatalf("want an ObjectError, got %v", err)
			}
			if oe.Object != "baseimagepolicy/web" || oe.Field != tc.field || !strings.Contains(oe.Msg, tc.says) || oe.NotApplied != tc.notApplied {
				t.Errorf("got object %q field %q not applied %v: %s\nwant field %q saying %q, not applied %v", oe.Object, oe.Field, oe.NotApplied, oe.Msg, tc.field, tc.says, tc.notApplied)
			}
			if strings.Contains(oe.Error(), "baseimagepolicy/web:") && strings.Contains(oe.Reason(), ".yaml") {
				t.Errorf("the reason names a file: %s", oe.Reason())
			}
		})
	}
}

// TestLoadObjectReadsTheExamples: every example policy and the built-in
// one load as objects as they load as files, and the seed ClusterPolicy is
// applied in full.
func TestLoadObjectReadsTheExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "examples", "policies", "*.yaml"))
	docs := map[string]string{"builtin": string(policy.BuiltinYAML())}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[filepath.Base(f)] = string(data)
	}
	loaded := 0
	for name, doc := range docs {
		obj := object(t, doc)
		if obj["kind"] == "ConfigMap" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			o, err := policy.LoadObject("x/"+name, obj)
			var oe *policy.ObjectError
			if errors.As(err, &oe) && strings.Contains(oe.Msg, "ConfigMap") {
				return // a ClusterPolicy reading a ConfigMap: files only
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := policy.Load(policy.File{Name: name, Data: []byte(doc)})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(len(want[0].Spec.Rules), len(o.Policy.Spec.Rules)); diff != "" {
				t.Errorf("rules as an object and as a file differ: %s", diff)
			}
			loaded++
		})
	}
	if loaded < 3 {
		t.Errorf("only %d examples loaded as objects", loaded)
	}
}

// TestObjectFindingsNameTheField: lint findings of an object say where.
func TestObjectFindingsNameTheField(t *testing.T) {
	o, err := policy.LoadObject("bip/web", object(t, nativeObject("  rules:\n  - name: approved\n    allow: ['registry.example.com/base/alpine*']")))
	if err != nil {
		t.Fatal(err)
	}
	got := o.Findings()
	if len(got) != 1 || !strings.HasPrefix(got[0], "risk at spec.rules[0].allow[0] (rule approved): ") {
		t.Errorf("findings: %q", got)
	}
}

// FuzzLoadObject: no object, however malformed, panics LoadObject, and
// every refusal is an ObjectError naming the object.
func FuzzLoadObject(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "examples", "policies", "*.yaml"))
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(nativeObject("  rules: [{name: r, deny: [a]}]")))
	f.Add([]byte(kyvernoObject(denyCentos)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var obj map[string]any
		if yaml.Unmarshal(data, &obj) != nil || obj == nil {
			return
		}
		o, err := policy.LoadObject("bip/f", obj)
		var oe *policy.ObjectError
		switch {
		case err != nil && (!errors.As(err, &oe) || oe.Object != "bip/f"):
			t.Errorf("not an ObjectError naming the object: %v", err)
		case err == nil:
			o.Findings()
		}
	})
}
