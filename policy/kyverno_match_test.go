package policy_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
	"go.yaml.in/yaml/v3"
)

// This file checks the Kyverno import's match and exclude against a model
// of how Kyverno's engine decides them (engine/utils/match.go: any, all,
// the legacy resources block, exclude.any and exclude.all, each filter's
// kinds, names, namespaces, annotations, selectors, operations, subjects,
// roles and clusterRoles), over generated policies and resources.

// kyFilter is a Kyverno resource filter as the model reads it.
type kyFilter struct {
	Resources    map[string]any   `yaml:"resources,omitempty"`
	Subjects     []map[string]any `yaml:"subjects,omitempty"`
	Roles        []string         `yaml:"roles,omitempty"`
	ClusterRoles []string         `yaml:"clusterRoles,omitempty"`
}

type kyMatch struct {
	Any    []kyFilter `yaml:"any,omitempty"`
	All    []kyFilter `yaml:"all,omitempty"`
	legacy *kyFilter
}

func (m kyMatch) yaml() map[string]any {
	if m.legacy != nil {
		out := map[string]any{"resources": m.legacy.Resources}
		if len(m.legacy.Subjects) > 0 {
			out["subjects"] = m.legacy.Subjects
		}
		if len(m.legacy.Roles) > 0 {
			out["roles"] = m.legacy.Roles
		}
		if len(m.legacy.ClusterRoles) > 0 {
			out["clusterRoles"] = m.legacy.ClusterRoles
		}
		return out
	}
	if len(m.Any) > 0 {
		return map[string]any{"any": m.Any}
	}
	return map[string]any{"all": m.All}
}

// kyRequest is what Kyverno knows of an admission request.
type kyRequest struct {
	res                 subject.Resource
	user                string
	groups              []string
	roles, clusterRoles []string
	annotations         map[string]string
}

// holds is the model of Kyverno's doesResourceMatchConditionBlock.
func (f kyFilter) holds(r kyRequest) bool {
	res := f.Resources
	if ops := strs(res["operations"]); len(ops) > 0 && !slices.Contains(ops, r.res.Operation) {
		return false
	}
	if kinds := strs(res["kinds"]); len(kinds) > 0 && !slices.ContainsFunc(kinds, func(k string) bool { return kyKind(k, r.res) }) {
		return false
	}
	if names := strs(res["names"]); len(names) > 0 && !slices.ContainsFunc(names, func(n string) bool { return wild(n, r.res.Name) }) {
		return false
	}
	if ns := strs(res["namespaces"]); len(ns) > 0 && !slices.ContainsFunc(ns, func(n string) bool { return wild(n, r.res.Namespace) }) {
		return false
	}
	if a, ok := res["annotations"].(map[string]string); ok && !kyLabels(a, r.annotations) {
		return false
	}
	if s, ok := res["selector"].(map[string]any); ok && !kySelector(s, r.res.Labels) {
		return false
	}
	if s, ok := res["namespaceSelector"].(map[string]any); ok && !kySelector(s, r.res.NamespaceLabels) {
		return false
	}
	if len(f.Roles) > 0 && !slices.ContainsFunc(f.Roles, func(x string) bool { return slices.Contains(r.roles, x) }) {
		return false
	}
	if len(f.ClusterRoles) > 0 && !slices.ContainsFunc(f.ClusterRoles, func(x string) bool { return slices.Contains(r.clusterRoles, x) }) {
		return false
	}
	if len(f.Subjects) > 0 && !slices.ContainsFunc(f.Subjects, func(s map[string]any) bool { return kySubject(s, r) }) {
		return false
	}
	return true
}

func kySubject(s map[string]any, r kyRequest) bool {
	name := s["name"].(string)
	switch s["kind"] {
	case "ServiceAccount":
		return wild("system:serviceaccount:"+s["namespace"].(string)+":"+name, r.user)
	case "Group":
		return slices.ContainsFunc(r.groups, func(g string) bool { return wild(name, g) })
	}
	return wild(name, r.user)
}

// kyKind models CheckKind with ParseKindSelector for the forms generated.
func kyKind(sel string, res subject.Resource) bool {
	parts := strings.Split(sel, "/")
	group, version, kind := "*", "*", parts[len(parts)-1]
	switch len(parts) {
	case 2:
		version = parts[0]
	case 3:
		group, version = parts[0], parts[1]
	}
	g, v, found := strings.Cut(res.APIVersion, "/")
	if !found {
		g, v = "", res.APIVersion
	}
	return wild(group, g) && wild(version, v) && wild(kind, res.Kind)
}

func kySelector(s map[string]any, labels map[string]string) bool {
	if ml, ok := s["matchLabels"].(map[string]string); ok && !kyLabels(ml, labels) {
		return false
	}
	for _, e := range asMaps(s["matchExpressions"]) {
		v, has := labels[e["key"].(string)]
		in := has && slices.Contains(strs(e["values"]), v)
		if (e["operator"] == "In") != in {
			return false
		}
	}
	return true
}

// kyLabels models wildcard label matching: each entry needs a label
// whose key and value match.
func kyLabels(want, have map[string]string) bool {
	for k, v := range want {
		found := false
		for hk, hv := range have {
			found = found || (wild(k, hk) && wild(v, hv))
		}
		if !found {
			return false
		}
	}
	return true
}

// applies models MatchesResourceDescription for one rule.
func (m kyMatch) applies(exclude *kyMatch, r kyRequest) bool {
	matched := false
	switch {
	case m.legacy != nil:
		matched = m.legacy.holds(r)
	case len(m.Any) > 0:
		matched = slices.ContainsFunc(m.Any, func(f kyFilter) bool { return f.holds(r) })
	default:
		matched = !slices.ContainsFunc(m.All, func(f kyFilter) bool { return !f.holds(r) })
	}
	if !matched || exclude == nil {
		return matched
	}
	switch {
	case exclude.legacy != nil:
		return !exclude.legacy.holds(r)
	case len(exclude.Any) > 0:
		return !slices.ContainsFunc(exclude.Any, func(f kyFilter) bool { return f.holds(r) })
	}
	return slices.ContainsFunc(exclude.All, func(f kyFilter) bool { return !f.holds(r) })
}

// wild is Kyverno's wildcard match, written independently of the code
// under test: `*` any run, `?` one character.
func wild(p, s string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if wild(p[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && wild(p[1:], s[1:])
	}
	return s != "" && s[0] == p[0] && wild(p[1:], s[1:])
}

func strs(v any) []string {
	l, _ := v.([]string)
	return l
}

func asMaps(v any) []map[string]any {
	l, _ := v.([]map[string]any)
	return l
}

// genFilter makes a filter with one to three criteria.
func genFilter(rnd *rand.Rand, annotations bool) kyFilter {
	f := kyFilter{Resources: map[string]any{}}
	pick := func(options ...any) any { return options[rnd.IntN(len(options))] }
	n := 1 + rnd.IntN(3)
	for i := 0; i < n; i++ {
		switch rnd.IntN(11) {
		case 0, 1:
			f.Resources["kinds"] = pick([]string{"Pod"}, []string{"v1/Pod"}, []string{"Pod", "Deployment"}, []string{"apps/v1/Deployment"}, []string{"*"}, []string{"Job", "Pod"}, []string{"Deploy*"})
		case 2:
			f.Resources["namespaces"] = pick([]string{"prod"}, []string{"dev-*"}, []string{"kube-?ystem", "prod"})
		case 3:
			f.Resources["names"] = pick([]string{"web-*"}, []string{"api"}, []string{"?pi", "x"})
		case 4:
			f.Resources["selector"] = pick(
				map[string]any{"matchLabels": map[string]string{"tier": "web"}},
				map[string]any{"matchLabels": map[string]string{"app.kubernetes.io/*": "x*"}},
				map[string]any{"matchExpressions": []map[string]any{{"key": "env", "operator": "In", "values": []string{"a", "b"}}}})
		case 5:
			f.Resources["namespaceSelector"] = map[string]any{"matchLabels": map[string]string{"team": "a"}}
		case 6:
			f.Resources["operations"] = pick([]string{"CREATE"}, []string{"UPDATE"}, []string{"CREATE", "UPDATE"}, []string{"UPDATE", "DELETE"})
		case 7:
			f.Subjects = pick(
				[]map[string]any{{"kind": "User", "name": "alice"}},
				[]map[string]any{{"kind": "Group", "name": "dev*"}},
				[]map[string]any{{"kind": "ServiceAccount", "namespace": "ci", "name": "deployer"}, {"kind": "User", "name": "bob"}},
				[]map[string]any{{"kind": "ServiceAccount", "namespace": "kube-system", "name": "*"}}).([]map[string]any)
		case 8:
			f.Roles = []string{"ci:deployer"}
		case 9:
			f.ClusterRoles = []string{"admin"}
		case 10:
			if annotations {
				f.Resources["annotations"] = map[string]string{"skip": "*"}
			}
		}
	}
	if len(f.Resources) == 0 && len(f.Subjects)+len(f.Roles)+len(f.ClusterRoles) == 0 {
		f.Resources["kinds"] = []string{"Pod"}
	}
	return f
}

func genMatch(rnd *rand.Rand, annotations bool) kyMatch {
	switch rnd.IntN(3) {
	case 0:
		f := genFilter(rnd, annotations)
		return kyMatch{legacy: &f}
	case 1:
		m := kyMatch{}
		for i := 0; i < 1+rnd.IntN(3); i++ {
			m.Any = append(m.Any, genFilter(rnd, annotations))
		}
		return m
	}
	m := kyMatch{}
	for i := 0; i < 1+rnd.IntN(2); i++ {
		m.All = append(m.All, genFilter(rnd, annotations))
	}
	return m
}

// kyUsers are the requesters the requests come from.
var kyUsers = []kyRequest{
	{user: "alice", groups: []string{"developers"}},
	{user: "system:serviceaccount:ci:deployer", groups: []string{"system:serviceaccounts"}, roles: []string{"ci:deployer"}},
	{user: "system:serviceaccount:kube-system:job-controller", clusterRoles: []string{"admin"}},
	{user: "bob", groups: []string{"ops"}, roles: []string{"dev:viewer"}},
}

// kyRequests are the resources and requesters the policies are tried on.
func kyRequests() []kyRequest {
	users := kyUsers
	var out []kyRequest
	for _, kind := range [][2]string{{"Pod", "v1"}, {"Deployment", "apps/v1"}, {"Job", "batch/v1"}} {
		for _, ns := range []string{"prod", "dev-1", "kube-system"} {
			for _, name := range []string{"web-1", "api"} {
				for li, labels := range []map[string]string{{}, {"tier": "web", "env": "a"}, {"app.kubernetes.io/name": "x1"}} {
					for _, op := range []string{"CREATE", "UPDATE"} {
						u := users[(li+len(ns)+len(name))%len(users)]
						u.res = subject.Resource{Kind: kind[0], APIVersion: kind[1], Namespace: ns, Name: name, Labels: labels,
							NamespaceLabels: map[string]string{"team": map[bool]string{true: "a", false: "b"}[ns == "prod"]}, Operation: op}
						u.annotations = map[string]string{}
						out = append(out, u)
					}
				}
			}
		}
	}
	return out
}

func kyvernoRuleDoc(match kyMatch, exclude *kyMatch) string {
	rule := map[string]any{
		"name":     "r",
		"match":    match.yaml(),
		"validate": map[string]any{"pattern": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"image": "!*"}}}}},
	}
	if exclude != nil {
		rule["exclude"] = exclude.yaml()
	}
	doc := map[string]any{
		"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": map[string]any{"name": "k"},
		"spec": map[string]any{"validationFailureAction": "Enforce", "rules": []any{rule}},
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return string(out)
}

// TestKyvernoMatchAgainstModel: for every generated policy and request,
// baseguard applies the rule wherever Kyverno does (never narrower); for
// Pods, with everything about the request known, exactly where Kyverno
// does; and without the requester or operation (check, audit) wherever
// Kyverno would for some requester and operation.
func TestKyvernoMatchAgainstModel(t *testing.T) {
	rnd := rand.New(rand.NewPCG(8, 2026))
	reqs := kyRequests()
	for i := 0; i < 400; i++ {
		annotations := i%4 == 0
		match := genMatch(rnd, annotations)
		var exclude *kyMatch
		if rnd.IntN(3) > 0 {
			e := genMatch(rnd, annotations)
			exclude = &e
		}
		doc := kyvernoRuleDoc(match, exclude)
		set, err := loadDocs(doc)
		if err != nil {
			if strings.Contains(err.Error(), "no validate rule baseguard can apply") {
				for _, r := range reqs {
					if match.applies(exclude, r) {
						t.Fatalf("policy %d dropped, yet Kyverno applies it to %+v:\n%s", i, r.res, doc)
					}
				}
				continue
			}
			t.Fatalf("policy %d: %v\n%s", i, err, doc)
		}
		for _, r := range reqs {
			checkRequest(t, i, doc, set, match, exclude, r, annotations, kyUsers)
		}
	}
}

func checkRequest(t *testing.T, i int, doc string, set *policy.Set, match kyMatch, exclude *kyMatch, r kyRequest, annotations bool, users []kyRequest) {
	t.Helper()
	res := r.res
	res.User = &subject.User{Name: r.user, Groups: r.groups, RolesKnown: true, Roles: r.roles, ClusterRoles: r.clusterRoles}
	want := match.applies(exclude, r)
	got := judge(set, &res, "a.io/b:1")["r"].status == policy.StatusFail
	switch {
	case want && !got:
		t.Fatalf("policy %d: Kyverno applies the rule to %s/%s/%s by %s (%s), baseguard does not:\n%s", i, res.Kind, res.Namespace, res.Name, r.user, res.Operation, doc)
	case got && !want && res.Kind == "Pod" && !annotations:
		t.Fatalf("policy %d: baseguard applies the rule to %s/%s/%s by %s (%s), Kyverno does not:\n%s", i, res.Kind, res.Namespace, res.Name, r.user, res.Operation, doc)
	}
	ci := r.res
	ci.Operation = ""
	if judge(set, &ci, "a.io/b:1")["r"].status != policy.StatusFail {
		for _, op := range []string{"CREATE", "UPDATE"} {
			for _, u := range users {
				u.res, u.annotations = r.res, r.annotations
				u.res.Operation = op
				if match.applies(exclude, u) {
					t.Fatalf("policy %d: without requester and operation baseguard does not apply the rule to %s/%s/%s, which Kyverno does for %s (%s):\n%s", i, res.Kind, res.Namespace, res.Name, u.user, op, doc)
				}
			}
		}
	}
}

// TestKyvernoExcludeKeepsItsFilters spells out the class the model covers,
// one case each, so a failure reads plainly.
func TestKyvernoExcludeKeepsItsFilters(t *testing.T) {
	doc := func(exclude string) string {
		return fmt.Sprintf(`apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: k}
spec:
  validationFailureAction: Enforce
  rules:
    - name: r
      match: {any: [{resources: {kinds: [Pod, Deployment]}}]}
      exclude: %s
      validate: {pattern: {spec: {containers: [{image: "registry.example.com/*"}]}}}
`, exclude)
	}
	tests := []struct {
		name, exclude string
		res           subject.Resource
		excluded      bool
	}{
		{"kinds: only the kind named", `{any: [{resources: {kinds: [Deployment]}}]}`, subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "a"}, false},
		{"kinds: the kind named", `{any: [{resources: {kinds: [Deployment]}}]}`, subject.Resource{Kind: "Deployment", APIVersion: "apps/v1", Namespace: "a"}, true},
		{"kinds and namespaces together", `{any: [{resources: {kinds: [Pod], namespaces: [kube-system]}}]}`, subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "a"}, false},
		{"selector", `{any: [{resources: {selector: {matchLabels: {skip: "yes"}}}}]}`, subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "a", Labels: map[string]string{"skip": "no"}}, false},
		{"namespaceSelector", `{any: [{resources: {namespaceSelector: {matchLabels: {exempt: "true"}}}}]}`, subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "a", NamespaceLabels: map[string]string{"exempt": "true"}}, true},
		{"all: one block is not enough", `{all: [{resources: {namespaces: [a]}}, {resources: {selector: {matchLabels: {skip: "yes"}}}}]}`, subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "a"}, false},
		{"annotations cannot be judged: never excludes", `{any: [{resources: {annotations: {skip: "*"}}}]}`, subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "a"}, false},
		{"subresource cannot be judged: never excludes", `{any: [{resources: {kinds: [Pod/ephemeralcontainers]}}]}`, subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "a"}, false},
		{"unknown field: never excludes", `{any: [{resources: {namespaces: [a], labels: {x: y}}}]}`, subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "a"}, false},
		{"subjects in CI: never excludes", `{any: [{subjects: [{kind: Group, name: "system:masters"}]}]}`, subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "a"}, false},
		{"subjects at admission", `{any: [{subjects: [{kind: Group, name: "system:masters"}]}]}`, subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "a", User: &subject.User{Name: "x", Groups: []string{"system:masters"}}}, true},
		{"roles not looked up: never excludes", `{any: [{roles: ["a:admin"]}]}`, subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "a", User: &subject.User{Name: "x"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := mustSet(t, doc(tt.exclude))
			res := tt.res
			res.Name = "x"
			if res.NamespaceLabels == nil {
				res.NamespaceLabels = map[string]string{}
			}
			got := judge(set, &res, "evil.io/x:1")["r"].status
			if excluded := got == ""; excluded != tt.excluded {
				t.Errorf("excluded = %v (status %q), want %v", excluded, got, tt.excluded)
			}
		})
	}
}
