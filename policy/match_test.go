package policy_test

import (
	"strings"
	"testing"

	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
	"github.com/google/go-cmp/cmp"
)

// matchPolicy has one rule per kind of match criterion; each denies every
// image, so a rule fails exactly where its match selects the resource.
var matchPolicy = native(`  rules:
    - name: any-of
      match: {any: [{kinds: [Deployment]}, {kinds: [Pod], namespaces: {include: [prod]}}]}
      deny: ["*"]
    - name: all-of
      match: {all: [{kinds: [Pod, Deployment]}, {selector: {matchLabels: {tier: web}}}]}
      deny: ["*"]
    - name: exclude-kind
      match: {exclude: {kinds: [Pod]}}
      deny: ["*"]
    - name: exclude-any
      match: {exclude: {any: [{namespaces: {include: ["kube-*"]}}, {selector: {matchLabels: {skip: "yes"}}}]}}
      deny: ["*"]
    - name: exclude-all
      match: {exclude: {all: [{namespaces: {include: [dev]}}, {selector: {matchLabels: {skip: "yes"}}}]}}
      deny: ["*"]
    - name: names
      match: {names: ["web-*"]}
      deny: ["*"]
    - name: create-only
      match: {operations: [CREATE]}
      deny: ["*"]
    - name: by-group
      match: {requester: {groups: [devs]}}
      deny: ["*"]
    - name: not-admins
      match: {exclude: {requester: {serviceAccounts: ["kube-system:*"], groups: ["system:masters"]}}}
      deny: ["*"]
    - name: not-deployer-role
      match: {exclude: {requester: {roles: ["ci:deployer"]}}}
      deny: ["*"]
    - name: cluster-admins-only
      match: {requester: {clusterRoles: [cluster-admin]}}
      deny: ["*"]
    - name: apps-v1
      match: {kinds: [apps/v1/Deployment]}
      deny: ["*"]
    - name: wildcard-labels
      match: {selector: {matchLabels: {"app.kubernetes.io/*": "web*"}}}
      deny: ["*"]
    - name: exempt-namespaces
      match: {exclude: {namespaceSelector: {matchLabels: {exempt: "true"}}}}
      deny: ["*"]
`)

var allMatchRules = []string{"any-of", "all-of", "exclude-kind", "exclude-any", "exclude-all", "names", "create-only", "by-group", "not-admins", "not-deployer-role", "cluster-admins-only", "apps-v1", "wildcard-labels", "exempt-namespaces"}

// failing lists the rules that fail; every other rule must not apply.
func failing(rules ...string) map[string]policy.Status {
	out := map[string]policy.Status{}
	for _, r := range rules {
		out[r] = policy.StatusFail
	}
	return out
}

func without(all []string, drop ...string) []string {
	var out []string
	for _, r := range all {
		keep := true
		for _, d := range drop {
			keep = keep && r != d
		}
		if keep {
			out = append(out, r)
		}
	}
	return out
}

func TestNativeMatch(t *testing.T) {
	set := mustSet(t, matchPolicy)
	ns := map[string]string{}
	admin := &subject.User{Name: "system:serviceaccount:kube-system:replicaset-controller", Groups: []string{"system:serviceaccounts"}, RolesKnown: true}
	dev := &subject.User{Name: "alice", Groups: []string{"devs"}, RolesKnown: true, Roles: []string{"ci:deployer"}}
	// Rules that apply to a plain Pod in default, created by an unknown
	// requester, apart from those its kind, labels or name select.
	plain := []string{"exclude-any", "exclude-all", "create-only", "by-group", "not-admins", "not-deployer-role", "cluster-admins-only", "exempt-namespaces"}
	tests := []struct {
		name string
		res  subject.Resource
		want map[string]policy.Status
	}{
		{"pod in default", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "x", NamespaceLabels: ns},
			failing(plain...)},
		{"pod in prod is an alternative of any", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "prod", Name: "x", NamespaceLabels: ns},
			failing(append(plain, "any-of")...)},
		{"deployment: any, apps-v1, kind not excluded", subject.Resource{Kind: "Deployment", APIVersion: "apps/v1", Namespace: "default", Name: "x", NamespaceLabels: ns},
			failing(append(plain, "any-of", "exclude-kind", "apps-v1")...)},
		{"deployment of another apiVersion is not apps/v1", subject.Resource{Kind: "Deployment", APIVersion: "apps/v1beta2", Namespace: "default", Name: "x", NamespaceLabels: ns},
			failing(append(plain, "any-of", "exclude-kind")...)},
		{"all: kind and label both hold", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "x", Labels: map[string]string{"tier": "web"}, NamespaceLabels: ns},
			failing(append(plain, "all-of")...)},
		{"all: label alone is not enough", subject.Resource{Kind: "ReplicaSet", APIVersion: "apps/v1", Namespace: "default", Name: "x", Labels: map[string]string{"tier": "web"}, NamespaceLabels: ns},
			failing(append(plain, "exclude-kind")...)},
		{"exclude any: kube-* namespace", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "kube-public", Name: "x", NamespaceLabels: ns},
			failing(without(plain, "exclude-any")...)},
		{"exclude any: label alone", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "x", Labels: map[string]string{"skip": "yes"}, NamespaceLabels: ns},
			failing(without(plain, "exclude-any")...)},
		{"exclude all: namespace alone does not exclude", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "dev", Name: "x", NamespaceLabels: ns},
			failing(plain...)},
		{"exclude all: namespace and label exclude", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "dev", Name: "x", Labels: map[string]string{"skip": "yes"}, NamespaceLabels: ns},
			failing(without(plain, "exclude-all", "exclude-any")...)},
		{"names glob", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "web-1", NamespaceLabels: ns},
			failing(append(plain, "names")...)},
		{"wildcard label keys and values", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "x", Labels: map[string]string{"app.kubernetes.io/name": "web-frontend"}, NamespaceLabels: ns},
			failing(append(plain, "wildcard-labels")...)},
		{"wildcard label value must match too", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "x", Labels: map[string]string{"app.kubernetes.io/name": "api"}, NamespaceLabels: ns},
			failing(plain...)},
		{"exempt namespace by label", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "x", NamespaceLabels: map[string]string{"exempt": "true"}},
			failing(without(plain, "exempt-namespaces")...)},
		{"UPDATE is not CREATE", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "x", NamespaceLabels: ns, Operation: "UPDATE", User: dev},
			failing("exclude-any", "exclude-all", "by-group", "not-admins", "exempt-namespaces")},
		{"admission by a developer holding ci:deployer", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "x", NamespaceLabels: ns, Operation: "CREATE", User: dev},
			failing("exclude-any", "exclude-all", "create-only", "by-group", "not-admins", "exempt-namespaces")},
		{"admission by a kube-system controller", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "x", NamespaceLabels: ns, Operation: "CREATE", User: admin},
			failing("exclude-any", "exclude-all", "create-only", "not-deployer-role", "exempt-namespaces")},
		{"admission by a cluster admin", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "x", NamespaceLabels: ns, Operation: "CREATE",
			User: &subject.User{Name: "bob", Groups: []string{"system:masters"}, RolesKnown: true, ClusterRoles: []string{"cluster-admin"}}},
			failing("exclude-any", "exclude-all", "create-only", "not-deployer-role", "cluster-admins-only", "exempt-namespaces")},
		{"roles not looked up: role criteria apply the rule", subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "x", NamespaceLabels: ns, Operation: "CREATE",
			User: &subject.User{Name: "carol"}},
			failing("exclude-any", "exclude-all", "create-only", "not-admins", "not-deployer-role", "cluster-admins-only", "exempt-namespaces")},
		{"a Dockerfile is matched as a Pod", subject.Resource{Kind: subject.KindDockerfile, Name: "Dockerfile", NamespaceLabels: ns},
			failing(plain...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.res
			if diff := cmp.Diff(tt.want, statuses(judge(set, &res, "registry.example.com/app:1"))); diff != "" {
				t.Errorf("rules applied (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUnknownsAreSaid: a rule applied because the requester or operation
// was unknown says so in its result; one decided at admission does not.
func TestUnknownsAreSaid(t *testing.T) {
	set := mustSet(t, matchPolicy)
	ci := &subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "x", NamespaceLabels: map[string]string{}}
	got := judge(set, ci, "registry.example.com/app:1")
	for rule, want := range map[string]string{
		"by-group": "who made the request", "not-admins": "who made the request",
		"create-only": "the admission operation", "cluster-admins-only": "who made the request",
	} {
		if r := strings.Join(got[rule].reasons, "\n"); !strings.Contains(r, "without knowing "+want) {
			t.Errorf("rule %s: reason %q does not say it applied without knowing %s", rule, r, want)
		}
	}
	if r := strings.Join(got["exclude-any"].reasons, "\n"); strings.Contains(r, "without knowing") {
		t.Errorf("rule exclude-any depends on nothing unknown, yet says %q", r)
	}
	adm := *ci
	adm.User, adm.Operation = &subject.User{Name: "alice", RolesKnown: true}, "CREATE"
	got = judge(set, &adm, "registry.example.com/app:1")
	for rule, o := range got {
		if r := strings.Join(o.reasons, "\n"); strings.Contains(r, "without knowing") {
			t.Errorf("rule %s at admission with everything known says %q", rule, r)
		}
	}
}

// TestNamespaceLabelsUnknownInExclude: an exclude by namespace labels that
// are unknown cannot be decided: skipped offline, an error when the
// lookup failed, as a match by them is.
func TestNamespaceLabelsUnknownInExclude(t *testing.T) {
	set := mustSet(t, matchPolicy)
	res := &subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "x"}
	if got := judge(set, res, "a.io/b:1")["exempt-namespaces"].status; got != policy.StatusSkip {
		t.Errorf("unknown labels: %s, want skip", got)
	}
	res.NamespaceLabelsErr = errForbidden
	if got := judge(set, res, "a.io/b:1")["exempt-namespaces"].status; got != policy.StatusError {
		t.Errorf("labels unreadable: %s, want error", got)
	}
}
