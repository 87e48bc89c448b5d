package policy_test

import (
	"strings"
	"testing"

	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
	"github.com/google/go-cmp/cmp"
)

// TestMatchLoadErrors: every malformed match, filter or override is a
// load error naming the file and the line it is on.
func TestMatchLoadErrors(t *testing.T) {
	rule := func(match string) string {
		return native("  rules:\n    - name: r\n      deny: [\"*\"]\n      match:\n" + match)
	}
	tests := []struct {
		name, doc, want string
	}{
		{"plural kind", rule("        kinds: [Pod,\n          Pods]\n"), `p.yaml:10: policy "p": rule "r": match: unknown kind "Pods" (did you mean Pod?)`},
		{"lower-case kind", rule("        kinds:\n          - deployment\n"), `p.yaml:10: policy "p": rule "r": match: unknown kind "deployment" (did you mean Deployment?)`},
		{"kind without pod template", rule("        kinds: [ConfigMap]\n"), `p.yaml:9: policy "p": rule "r": match: unknown kind "ConfigMap": baseguard judges CloneSet, Configuration, CronJob, DaemonSet, Deployment, DeploymentConfig, Dockerfile,`},
		{"workload CRD in another group", rule("        kinds: [apps/v1/Rollout]\n"), `p.yaml:9: policy "p": rule "r": match: kind "apps/v1/Rollout": baseguard judges Rollout in API group "argoproj.io", not "apps"`},
		{"core kind in a CRD's group", rule("        kinds: [example.com/v1/Deployment]\n"), `kind "example.com/v1/Deployment": baseguard judges Deployment in API group "apps" or "extensions", not "example.com"`},
		{"kind in any", rule("        any:\n          - kinds: [Pod]\n          - kinds: [Jobs]\n"), `p.yaml:11: policy "p": rule "r": match: any[1]: unknown kind "Jobs" (did you mean Job?)`},
		{"kind in exclude", rule("        exclude:\n          kinds: [CronJobs]\n"), `p.yaml:10: policy "p": rule "r": match: exclude: unknown kind "CronJobs"`},
		{"bad kind syntax", rule("        kinds: [a/b/c/Pod]\n"), `p.yaml:9: policy "p": rule "r": match: kind "a/b/c/Pod": want Kind, VERSION/Kind or GROUP/VERSION/Kind`},
		{"empty alternative", rule("        any:\n          - {}\n"), `p.yaml:10: policy "p": rule "r": match: any[0]: gives no criterion`},
		{"empty exclude", rule("        exclude: {}\n"), `rule "r": match: exclude gives no criterion`},
		{"nested exclude", rule("        exclude:\n          kinds: [Pod]\n          exclude: {kinds: [Job]}\n"), `p.yaml:11: policy "p": rule "r": match: exclude: an exclude holds no exclude of its own`},
		{"unknown filter field", rule("        namespace: [x]\n"), `p.yaml:9: unknown field "namespace"`},
		{"unknown field in any", rule("        any:\n          - kind: [Pod]\n"), `p.yaml:10: unknown field "kind"`},
		{"bad operation", rule("        operations: [create]\n"), `p.yaml:9: policy "p": rule "r": match: operation "create": want CREATE or UPDATE`},
		{"operation not judged", rule("        operations: [DELETE]\n"), `match: operation "DELETE": want CREATE or UPDATE (the operations baseguard judges)`},
		{"bad service account", rule("        requester: {serviceAccounts: [deployer]}\n"), `p.yaml:9: policy "p": rule "r": match: requester: service account "deployer": want NAMESPACE:NAME`},
		{"bad role", rule("        requester: {roles: [admin]}\n"), `requester: role "admin": want NAMESPACE:NAME`},
		{"empty requester", rule("        requester: {}\n"), `requester names no user, group, service account or role`},
		{"bad glob", rule("        namespaces: {include: [\"team-[\"]}\n"), `p.yaml:9: policy "p": rule "r": match: namespaces: bad glob "team-["`},
		{"bad selector operator", rule("        selector: {matchExpressions: [{key: a, operator: Has}]}\n"), `selector operator "Has"`},
		{"override without namespaces", native("  actionOverrides:\n    - action: audit\n  rules:\n    - name: r\n      deny: [\"*\"]\n"), `p.yaml:6: policy "p": spec.actionOverrides[0]: give namespaces or a namespaceSelector`},
		{"override with a bad action", native("  rules:\n    - name: r\n      deny: [\"*\"]\n      actionOverrides:\n        - {action: block, namespaces: [dev]}\n"), `p.yaml:9: policy "p": rule "r": actionOverrides[0]: action "block"`},
		{"exception kind", native("  rules:\n    - name: r\n      deny: [\"*\"]\n  exceptions:\n    - {name: e, kinds: [pod], reason: r}\n"), `p.yaml:9: policy "p": exception "e": unknown kind "pod" (did you mean Pod?)`},
		{"policy match kind", native("  match: {kinds: [Deployments]}\n  rules:\n    - name: r\n      deny: [\"*\"]\n"), `p.yaml:5: policy "p": spec.match: unknown kind "Deployments"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadDocs(tt.doc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

// TestWorkloadKinds: the workload CRDs baseguard knows and those a policy
// declares in spec.workloads may be matched, by kind or with their group.
func TestWorkloadKinds(t *testing.T) {
	set := mustSet(t, native(`  workloads:
    - {apiVersion: example.com/v1, kind: Batch, templatePath: spec.podTemplate}
  rules:
    - name: r
      match: {kinds: [argoproj.io/v1alpha1/Rollout, Batch, apps.kruise.io/*/StatefulSet]}
      deny: ["*"]
`))
	for _, tt := range []struct {
		kind, apiVersion string
		applies          bool
	}{
		{"Rollout", "argoproj.io/v1alpha1", true},
		{"Batch", "example.com/v1", true},
		{"StatefulSet", "apps.kruise.io/v1beta1", true},
		{"StatefulSet", "apps/v1", false},
		{"Deployment", "apps/v1", false},
	} {
		res := &subject.Resource{Kind: tt.kind, APIVersion: tt.apiVersion, Namespace: "a", Name: "x"}
		if got := judge(set, res, "a.io/b:1")["r"].status == policy.StatusFail; got != tt.applies {
			t.Errorf("%s %s: applies = %v, want %v", tt.apiVersion, tt.kind, got, tt.applies)
		}
	}
	if _, err := loadDocs(native("  rules:\n    - name: r\n      match: {kinds: [Batch]}\n      deny: [\"*\"]\n")); err == nil || !strings.Contains(err.Error(), `unknown kind "Batch"`) {
		t.Errorf("an undeclared kind loads: %v", err)
	}
}

// TestExistingMatchesLoadUnchanged: a match written before any/all/exclude
// existed means what it meant.
func TestExistingMatchesLoadUnchanged(t *testing.T) {
	set := loadSet(t, "baseguard-policy.yaml")
	p := set.Policies()[0]
	if diff := cmp.Diff(&policy.NamespaceFilter{Exclude: []string{"kube-system"}}, p.Spec.Match.Namespaces); diff != "" {
		t.Errorf("spec.match.namespaces (-want +got):\n%s", diff)
	}
	res := &subject.Resource{Kind: "Deployment", APIVersion: "apps/v1", Namespace: "kube-system", Name: "x", NamespaceLabels: map[string]string{}}
	if got := judge(set, res, "centos:7"); len(got) != 0 {
		t.Errorf("kube-system is excluded by the policy, yet: %v", statuses(got))
	}
}

// TestActionOverrides: the first override that holds decides, the rule's
// before the policy's; a rule's own action wins over the policy's
// overrides; unknown namespace labels take the strictest action an
// override could give, and say so.
func TestActionOverrides(t *testing.T) {
	set := mustSet(t, native(`  action: audit
  actionOverrides:
    - {action: enforce, namespaces: ["prod-*"]}
    - {action: warn, namespaceSelector: {matchLabels: {tier: sandbox}}}
  rules:
    - name: policy-level
      deny: ["*"]
    - name: rule-level
      action: warn
      actionOverrides:
        - {action: enforce, namespaces: [payments], namespaceSelector: {matchLabels: {pci: "true"}}}
      deny: ["*"]
`))
	tests := []struct {
		ns     string
		labels map[string]string
		want   map[string]policy.Action
	}{
		{"default", map[string]string{}, map[string]policy.Action{"policy-level": policy.Audit, "rule-level": policy.Warn}},
		{"prod-eu", map[string]string{}, map[string]policy.Action{"policy-level": policy.Enforce, "rule-level": policy.Warn}},
		{"play", map[string]string{"tier": "sandbox"}, map[string]policy.Action{"policy-level": policy.Warn, "rule-level": policy.Warn}},
		{"payments", map[string]string{"pci": "true"}, map[string]policy.Action{"policy-level": policy.Audit, "rule-level": policy.Enforce}},
		{"payments", map[string]string{}, map[string]policy.Action{"policy-level": policy.Audit, "rule-level": policy.Warn}},
		{"payments", nil, map[string]policy.Action{"policy-level": policy.Audit, "rule-level": policy.Enforce}},
	}
	for _, tt := range tests {
		t.Run(tt.ns, func(t *testing.T) {
			res := &subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: tt.ns, Name: "x", NamespaceLabels: tt.labels}
			got := map[string]policy.Action{}
			outs := judge(set, res, "a.io/b:1")
			for rule, o := range outs {
				got[rule] = o.action
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			if tt.labels == nil && !strings.Contains(strings.Join(outs["rule-level"].reasons, ""), "labels of namespace \"payments\" are not known") {
				t.Errorf("assumed enforce without saying so: %q", outs["rule-level"].reasons)
			}
		})
	}
	if !set.SelectsNamespaces() {
		t.Error("SelectsNamespaces is false, yet overrides select namespaces by label")
	}
}
