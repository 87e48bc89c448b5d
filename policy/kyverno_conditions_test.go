package policy_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
)

// This file checks that what the Kyverno import translates of a condition
// on images is exact: over a corpus of images, one and two per Pod, the
// translated rule denies exactly the Pods a model of Kyverno's operators
// denies (or, for deny conditions on parts of a reference that patterns
// cannot isolate, at least those). Kyverno compares strings as written;
// baseguard compares images, so the model takes a value to match an image
// when it matches any way of writing it (`nginx`, `docker.io/library/nginx:latest`).

var digest = "sha256:" + strings.Repeat("ab", 32)

var conditionImages = []string{
	"nginx", "nginx:1.25", "library/nginx:latest", "docker.io/library/nginx:1.25", "index.docker.io/nginx",
	"bitnami/redis:7", "ghcr.io/org/team/app:v1", "ghcr.io/org/app@" + digest, "ghcr.io/org/app:v1@" + digest,
	"registry.example.com:5000/base/alpine:3.19", "localhost:5000/x:1", "quay.io/centos/centos:7",
	"gcr.io/distroless/static:nonroot", "registry.example.com/base/ubuntu:22.04", "ubuntu:18.04",
	"evil.io/nginx:1.25", "nginx-evil.io/x:1", "ghcr.io/nginx/tools:latest",
}

// kyInfo models Kyverno's ImageInfo of a reference as written.
func kyInfo(s string) map[string]string {
	i := strings.IndexByte(s, '/')
	if i == -1 || (!strings.ContainsAny(s[:i], ".:") && s[:i] != "localhost" && strings.ToLower(s[:i]) == s[:i]) {
		s = "docker.io/" + s
	}
	registry, rest, _ := strings.Cut(s, "/")
	rest, dig, _ := strings.Cut(rest, "@")
	slash := strings.LastIndex(rest, "/")
	tag := ""
	if c := strings.LastIndex(rest, ":"); c > slash {
		rest, tag = rest[:c], rest[c+1:]
	}
	if tag == "" && dig == "" {
		tag = "latest"
	}
	ref := registry + "/" + rest + ":" + tag
	if dig != "" {
		ref = registry + "/" + rest + "@" + dig
	}
	return map[string]string{"registry": registry, "path": rest, "name": rest[strings.LastIndex(rest, "/")+1:], "tag": tag, "digest": dig, "reference": ref}
}

// aliases are the ways of writing the image an image reference names.
func aliases(img string) []string {
	r, err := imageref.Parse(img)
	if err != nil {
		return []string{img}
	}
	repos := []string{r.Registry + "/" + r.Repository}
	if r.Registry == imageref.DockerHub {
		short := strings.TrimPrefix(r.Repository, "library/")
		repos = append(repos, r.Repository, short, "docker.io/"+short)
	}
	suffixes := []string{":" + r.Tag}
	switch {
	case r.Digest != "" && !r.TagImplied:
		suffixes = []string{":" + r.Tag + "@" + r.Digest}
	case r.Digest != "":
		suffixes = []string{"@" + r.Digest}
	case r.Tag == "latest":
		suffixes = append(suffixes, "")
	}
	out := []string{img}
	for _, repo := range repos {
		for _, s := range suffixes {
			out = append(out, repo+s)
		}
	}
	return out
}

// kyAmong models Kyverno's In operators for one value: equal, or a
// wildcard match either way; literal values (a JSON list compared with a
// single-valued key) only by equality.
func kyAmong(v string, vals []string, literal bool) bool {
	for _, x := range vals {
		if x == v || (!literal && (wild(x, v) || wild(v, x))) {
			return true
		}
	}
	return false
}

// kyImageIn reports whether some way of writing img has comp among vals.
func kyImageIn(img, comp string, vals []string, literal bool) bool {
	for _, a := range aliases(img) {
		v := a
		if comp != "written" {
			v = kyInfo(a)[comp]
		}
		if kyAmong(v, vals, literal) {
			return true
		}
	}
	return false
}

// condCase is a condition on images, in a rule-level deny (list keys) or a
// foreach deny (element.image).
type condCase struct {
	key, op string
	comp    string
	vals    []string
	json    bool // the value is a JSON list in a string
	element bool
}

func (c condCase) value() any {
	if c.json {
		b, _ := json.Marshal(c.vals)
		return string(b)
	}
	if strings.Contains(strings.ToLower(c.op), "equal") {
		return c.vals[0]
	}
	return c.vals
}

// denies models Kyverno's decision for a Pod of the images.
func (c condCase) denies(images []string) bool {
	op := strings.ToLower(c.op)
	vals := c.vals
	if op == "contains" {
		vals = nil
		for _, v := range c.vals {
			vals = append(vals, "*"+v+"*")
		}
	}
	negated := strings.Contains(op, "not")
	for _, img := range images {
		if kyImageIn(img, c.comp, vals, c.json && c.element) != negated {
			return true
		}
	}
	return false
}

func (c condCase) doc() string {
	cond, _ := json.Marshal(map[string]any{"key": c.key, "operator": c.op, "value": c.value()})
	validate := fmt.Sprintf(`{deny: {conditions: {any: [%s]}}}`, cond)
	if c.element {
		validate = fmt.Sprintf(`{foreach: [{list: "request.object.spec.containers", deny: {conditions: {any: [%s]}}}]}`, cond)
	}
	return fmt.Sprintf(`apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: k}
spec:
  validationFailureAction: Enforce
  rules:
    - name: r
      match: {any: [{resources: {kinds: [Pod]}}]}
      validate: %s
`, validate)
}

var componentValues = map[string][]string{
	"written":   {"nginx", "nginx:1.25", "docker.io/library/nginx:*", "*nginx*", "ghcr.io/org/*", "*:latest", "*@sha256:*", "ubuntu:1?.04", "registry.example.com:5000/base/*", "docker.io/nginx*", "bitnami/*", "nginx-evil.io/*"},
	"reference": {"docker.io/nginx:1.25", "docker.io/nginx*", "ghcr.io/org/app@" + digest, "*/base/*", "docker.io/bitnami/redis:7", "quay.io/centos/centos:7"},
	"registry":  {"docker.io", "ghcr.io", "*.io", "gcr.*", "localhost:5000", "*", "registry.example.com:5000", "quay*", "index.docker.io"},
	"name":      {"nginx", "app", "*redis*", "cent*", "static", "*", "ubuntu"},
	"path":      {"nginx", "library/nginx", "org/app", "*/app", "centos/*"},
	"tag":       {"latest", "1.25", "v1", "7", "1.*", "*", "nonroot"},
	"digest":    {digest, "sha256:*"},
}

// exactComponent reports whether patterns can isolate the part of the
// reference a value names: every value on the whole reference, a host, a
// tag, digest or name without wildcards.
func exactComponent(comp string, vals []string) bool {
	for _, v := range vals {
		wildV := strings.ContainsAny(v, "*?")
		switch comp {
		case "written", "reference":
		case "registry":
			if v != "*" && (strings.HasPrefix(v, "*") || (wildV && !strings.Contains(v, "."))) {
				return false
			}
		case "tag", "digest", "name":
			if wildV {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func conditionCases() []condCase {
	var out []condCase
	for comp, vals := range componentValues {
		key := "{{ images.containers.*." + comp + " }}"
		if comp == "written" {
			key = "{{ request.object.spec.containers[].image }}"
		}
		for i := range vals {
			subset := []string{vals[i], vals[(i+3)%len(vals)]}
			for _, op := range []string{"AnyIn", "AnyNotIn"} {
				out = append(out, condCase{key: key, op: op, comp: comp, vals: subset})
			}
			if comp == "written" {
				for _, op := range []string{"AnyIn", "AllIn", "In", "AnyNotIn", "AllNotIn", "NotIn"} {
					out = append(out, condCase{key: "{{ element.image }}", op: op, comp: comp, vals: subset, element: true})
					out = append(out, condCase{key: "{{ element.image }}", op: op, comp: comp, vals: subset, element: true, json: true})
				}
				for _, op := range []string{"Equals", "NotEquals"} {
					out = append(out, condCase{key: "{{ element.image }}", op: op, comp: comp, vals: subset[:1], element: true})
				}
			}
		}
	}
	return out
}

func TestKyvernoImageConditionsAreExact(t *testing.T) {
	pods := [][]string{}
	for _, img := range conditionImages {
		pods = append(pods, []string{img})
	}
	for i := 0; i+1 < len(conditionImages); i += 3 {
		pods = append(pods, []string{conditionImages[i], conditionImages[i+1]})
	}
	translated := 0
	for _, c := range conditionCases() {
		name := fmt.Sprintf("%s %s %v json=%v", c.key, c.op, c.vals, c.json)
		set, err := loadDocs(c.doc())
		if err != nil && strings.Contains(err.Error(), "no validate rule baseguard can apply") {
			for _, pod := range pods {
				if c.denies(pod) {
					t.Errorf("%s: dropped, yet Kyverno denies %v", name, pod)
				}
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rule := set.Policies()[0].Spec.Rules[0]
		negated := strings.Contains(strings.ToLower(c.op), "not")
		exact := exactComponent(c.comp, c.vals)
		wantTranslated := exact || !negated
		if (rule.Untranslated == "") != wantTranslated {
			t.Errorf("%s: translated = %v (%s), want %v", name, rule.Untranslated == "", rule.Untranslated, wantTranslated)
			continue
		}
		if rule.Untranslated != "" {
			continue
		}
		translated++
		for _, pod := range pods {
			res := &subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "p"}
			got := judge(set, res, pod...)["r"].status == policy.StatusFail
			want := c.denies(pod)
			switch {
			case want && !got:
				t.Errorf("%s: Kyverno denies %v, baseguard does not (allow %v, deny %v)", name, pod, rule.Allow, rule.Deny)
			case got && !want && exact:
				t.Errorf("%s: baseguard denies %v, Kyverno does not (allow %v, deny %v)", name, pod, rule.Allow, rule.Deny)
			}
		}
	}
	if translated < 100 {
		t.Errorf("only %d conditions were translated", translated)
	}
}

// TestKyvernoListConditionsNeedAnImage: over the list of a Pod's images,
// only "some image is (not) among" translates per image; conditions on
// the whole list are errors, never a narrower rule.
func TestKyvernoListConditionsNeedAnImage(t *testing.T) {
	for _, op := range []string{"AllIn", "AllNotIn", "In", "NotIn", "Equals", "NotEquals", "GreaterThan", "Unknown"} {
		c := condCase{key: "{{ request.object.spec.containers[].image }}", op: op, comp: "written", vals: []string{"nginx:*"}}
		set := mustSet(t, c.doc())
		if r := set.Policies()[0].Spec.Rules[0]; r.Untranslated == "" {
			t.Errorf("%s over the list of images was translated: allow %v deny %v", op, r.Allow, r.Deny)
		}
		res := &subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "p"}
		if got := judge(set, res, "nginx:1")["r"].status; got != policy.StatusError {
			t.Errorf("%s: status %s, want error", op, got)
		}
	}
}

// TestKyvernoPreconditionsAreExact: a precondition that some image is among
// values translates into when (the rule judges those images); anything
// else makes the rule an error, never a rule applied more narrowly.
func TestKyvernoPreconditionsAreExact(t *testing.T) {
	for _, c := range conditionCases() {
		if c.element {
			continue
		}
		name := fmt.Sprintf("%s %s %v", c.key, c.op, c.vals)
		cond, _ := json.Marshal(map[string]any{"key": c.key, "operator": c.op, "value": c.value()})
		doc := fmt.Sprintf(`apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: k}
spec:
  validationFailureAction: Enforce
  rules:
    - name: r
      match: {any: [{resources: {kinds: [Pod]}}]}
      preconditions: {any: [%s]}
      validate: {pattern: {spec: {containers: [{image: "!*"}]}}}
`, cond)
		set := mustSet(t, doc)
		rule := set.Policies()[0].Spec.Rules[0]
		wantTranslated := c.op == "AnyIn" && exactComponent(c.comp, c.vals)
		if (rule.Untranslated == "") != wantTranslated {
			t.Errorf("%s: translated = %v (%s), want %v", name, rule.Untranslated == "", rule.Untranslated, wantTranslated)
			continue
		}
		for _, img := range conditionImages {
			res := &subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "p"}
			got := judge(set, res, img)["r"].status
			want := policy.StatusPass
			if c.denies([]string{img}) {
				want = policy.StatusFail
			}
			if rule.Untranslated != "" {
				want = policy.StatusError
			}
			if got != want {
				t.Errorf("%s: %s is %s, want %s", name, img, got, want)
			}
		}
	}
}

// TestKyvernoOperationConditions: conditions on request.operation become
// the rule's operations, decided as Kyverno decides them for CREATE,
// UPDATE and background scans.
func TestKyvernoOperationConditions(t *testing.T) {
	tests := []struct {
		cond    string
		applies map[string]bool // operation ("" outside admission) -> rule applies
		dropped bool
		errors  bool
	}{
		{`{key: "{{request.operation || 'BACKGROUND'}}", operator: NotEquals, value: DELETE}`, map[string]bool{"CREATE": true, "UPDATE": true, "": true}, false, false},
		{`{key: "{{request.operation}}", operator: Equals, value: CREATE}`, map[string]bool{"CREATE": true, "UPDATE": false, "": true}, false, false},
		{`{key: "{{request.operation}}", operator: AnyIn, value: [CREATE, UPDATE]}`, map[string]bool{"CREATE": true, "UPDATE": true, "": true}, false, false},
		{`{key: "{{request.operation}}", operator: AnyNotIn, value: [CREATE]}`, map[string]bool{"CREATE": false, "UPDATE": true, "": true}, false, false},
		{`{key: "{{request.operation}}", operator: Equals, value: DELETE}`, nil, true, false},
		{`{key: "{{request.operation || 'BACKGROUND'}}", operator: Equals, value: BACKGROUND}`, nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			doc := fmt.Sprintf(`apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: k}
spec:
  validationFailureAction: Enforce
  rules:
    - name: r
      match: {any: [{resources: {kinds: [Pod]}}]}
      preconditions: {all: [%s]}
      validate: {pattern: {spec: {containers: [{image: "registry.example.com/*"}]}}}
    - name: other
      match: {any: [{resources: {kinds: [Pod]}}]}
      validate: {pattern: {spec: {containers: [{image: "*"}]}}}
`, tt.cond)
			set := mustSet(t, doc)
			var rule *policy.Rule
			for i, r := range set.Policies()[0].Spec.Rules {
				if r.Name == "r" {
					rule = &set.Policies()[0].Spec.Rules[i]
				}
			}
			if (rule == nil) != tt.dropped {
				t.Fatalf("rule dropped = %v, want %v", rule == nil, tt.dropped)
			}
			if rule == nil {
				return
			}
			if (rule.Untranslated != "") != tt.errors {
				t.Fatalf("untranslated = %q, want errors %v", rule.Untranslated, tt.errors)
			}
			for op, want := range tt.applies {
				res := &subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "p", Operation: op}
				got := judge(set, res, "evil.io/x:1")["r"].status == policy.StatusFail
				if got != want {
					t.Errorf("operation %q: rule applies = %v, want %v", op, got, want)
				}
			}
		})
	}
}

// TestKyvernoResourceConditions: preconditions on the resource's labels
// (with a default) and namespace translate into selectors and namespace
// globs that hold exactly where Kyverno's operators do.
func TestKyvernoResourceConditions(t *testing.T) {
	type cond struct {
		key, op string
		value   any
	}
	conds := []cond{
		{"{{ request.object.metadata.labels.team || '' }}", "Equals", "payments"},
		{"{{ request.object.metadata.labels.team || '' }}", "Equals", "pay*"},
		{"{{ request.object.metadata.labels.team || '' }}", "NotEquals", "payments"},
		{"{{ request.object.metadata.labels.\"app.kubernetes.io/part-of\" || '' }}", "AnyIn", []any{"shop", "billing"}},
		{"{{ request.object.metadata.labels.team || '' }}", "AnyNotIn", []any{"payments", "ops"}},
		{"{{ request.object.metadata.labels.team || '' }}", "AnyIn", `["payments", "o*"]`},
		{"{{ request.namespace }}", "Equals", "prod-*"},
		{"{{ request.namespace }}", "AnyNotIn", []any{"kube-system", "dev-?"}},
		{"{{ request.namespace }}", "AnyIn", `["prod-*", "staging"]`},
	}
	resources := []subject.Resource{}
	for _, ns := range []string{"prod-1", "staging", "kube-system", "dev-1", "dev-10"} {
		for _, labels := range []map[string]string{{}, {"team": "payments"}, {"team": "ops"}, {"team": "payroll", "app.kubernetes.io/part-of": "shop"}, {"app.kubernetes.io/part-of": "billing"}} {
			resources = append(resources, subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: ns, Name: "p", Labels: labels})
		}
	}
	for _, c := range conds {
		t.Run(fmt.Sprintf("%s %s %v", c.key, c.op, c.value), func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"key": c.key, "operator": c.op, "value": c.value})
			set := mustSet(t, kyvernoRule(fmt.Sprintf("      match: {any: [{resources: {kinds: [Pod]}}]}\n      preconditions: {all: [%s]}\n      validate: {pattern: {spec: {containers: [{image: \"!*\"}]}}}\n", body)))
			if u := set.Policies()[0].Spec.Rules[0].Untranslated; u != "" {
				t.Fatalf("not translated: %s", u)
			}
			for _, res := range resources {
				key := res.Namespace
				if strings.Contains(c.key, "labels") {
					label := strings.Trim(strings.TrimPrefix(strings.Fields(strings.Trim(c.key, "{} "))[0], "request.object.metadata.labels."), `"`)
					key = res.Labels[label]
				}
				var vals []string
				literal := false
				switch v := c.value.(type) {
				case string:
					if err := json.Unmarshal([]byte(v), &vals); err == nil {
						literal = true
					} else {
						vals = []string{v}
					}
				case []any:
					for _, x := range v {
						vals = append(vals, x.(string))
					}
				}
				want := kyAmong(key, vals, literal) != strings.Contains(strings.ToLower(c.op), "not")
				res := res
				got := judge(set, &res, "a.io/b:1")["r"].status == policy.StatusFail
				if got != want {
					t.Errorf("%s %v: rule applies = %v, Kyverno %v", res.Namespace, res.Labels, got, want)
				}
			}
		})
	}
}
