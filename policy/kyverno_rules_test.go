package policy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
	"github.com/google/go-cmp/cmp"
)

// kyvernoRule wraps one rule body (indented for a rule) into a
// ClusterPolicy.
func kyvernoRule(body string) string {
	return `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: k}
spec:
  validationFailureAction: Enforce
  rules:
    - name: r
` + body
}

// translation summarizes a translated rule.
type translation struct {
	Allow, Deny, When []string
	RequireBase       bool
	Untranslated      string
}

func translate(t *testing.T, doc string) (translation, *policy.Policy) {
	t.Helper()
	ps, err := policy.Load(policy.File{Name: "k.yaml", Data: []byte(doc)})
	if err != nil {
		t.Fatal(err)
	}
	r := ps[0].Spec.Rules[0]
	out := translation{RequireBase: r.RequireBase, Untranslated: r.Untranslated}
	for _, l := range []struct {
		dst *[]string
		src []policy.Pattern
	}{{&out.Allow, r.Allow}, {&out.Deny, r.Deny}, {&out.When, r.When}} {
		for _, p := range l.src {
			*l.dst = append(*l.dst, p.String())
		}
	}
	return out, ps[0]
}

// TestKyvernoPatterns: a validate.pattern translates when all it checks is
// container images, the same for every list; anything more it checks
// makes the rule an error rather than a narrower rule.
func TestKyvernoPatterns(t *testing.T) {
	tests := []struct {
		name, pattern string
		want          translation
	}{
		{"allow list", `{spec: {containers: [{image: "a.io/* | b.io/*"}]}}`, translation{Allow: []string{"a.io/*", "b.io/*"}}},
		{"negation", `{spec: {containers: [{image: "!*:latest"}]}}`, translation{Deny: []string{"*:latest"}}},
		{"negations joined by &", `{spec: {containers: [{image: "!*:latest & !*centos*"}]}}`, translation{Deny: []string{"*:latest", "*centos*"}}},
		{"a reference without tag is its latest", `{spec: {containers: [{image: "nginx | a.io/x:1"}]}}`, translation{Allow: []string{"nginx:latest", "a.io/x:1"}}},
		{"every list, anchored", `{spec: {=(initContainers): [{image: "a.io/*"}], containers: [{image: "a.io/*"}], =(ephemeralContainers): [{image: "a.io/*"}]}}`, translation{Allow: []string{"a.io/*"}}},
		{"name: * checks nothing more", `{spec: {containers: [{name: "*", image: "a.io/*"}]}}`, translation{Allow: []string{"a.io/*"}}},
		{"pod template", `{spec: {template: {spec: {containers: [{image: "a.io/*"}]}}}}`, translation{Allow: []string{"a.io/*"}}},
		{"negations joined by |", `{spec: {containers: [{image: "!a.io/* | !b.io/*"}]}}`, translation{Untranslated: "joins negations with |"}},
		{"positive joined by &", `{spec: {containers: [{image: "a.io/* & !a.io/x*"}]}}`, translation{Untranslated: "joins a positive pattern with &"}},
		{"another field checked", `{spec: {containers: [{image: "a.io/*", imagePullPolicy: Always}]}}`, translation{Untranslated: "also checks spec.containers[].imagePullPolicy"}},
		{"a field beside the lists", `{spec: {hostNetwork: false, containers: [{image: "a.io/*"}]}}`, translation{Untranslated: "also checks spec.hostNetwork"}},
		{"metadata", `{metadata: {labels: {app: "?*"}}, spec: {containers: [{image: "a.io/*"}]}}`, translation{Untranslated: "also checks metadata.labels.app"}},
		{"conditional anchor on the image", `{spec: {containers: [{(image): "*:latest", imagePullPolicy: Always}]}}`, translation{Untranslated: "also checks"}},
		{"conditional anchor on a key", `{spec: {(hostNetwork): true, containers: [{image: "a.io/*"}]}}`, translation{Untranslated: "uses the anchor (hostNetwork)"}},
		{"existence anchor", `{spec: {^(containers): [{image: "a.io/*"}]}}`, translation{Untranslated: "uses the anchor ^(containers)"}},
		{"negation anchor", `{spec: {X(initContainers): null, containers: [{image: "a.io/*"}]}}`, translation{Untranslated: "uses the anchor X(initContainers)"}},
		{"lists checked differently", `{spec: {initContainers: [{image: "b.io/*"}], containers: [{image: "a.io/*"}]}}`, translation{Untranslated: "constrains container lists or containers differently"}},
		{"a number compared", `{spec: {containers: [{image: ">5"}]}}`, translation{Untranslated: "compares with an operator"}},
		{"no image", `{spec: {containers: [{name: "*"}]}}`, translation{Untranslated: "constrains no container image"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := translate(t, kyvernoRule(fmt.Sprintf("      match: {any: [{resources: {kinds: [Pod]}}]}\n      validate: {pattern: %s}\n", tt.pattern)))
			if tt.want.Untranslated != "" {
				if !strings.Contains(got.Untranslated, tt.want.Untranslated) {
					t.Errorf("untranslated = %q, want it to say %q", got.Untranslated, tt.want.Untranslated)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("translation (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKyvernoAnyPattern: alternatives that say the same of images
// translate; alternatives that differ each have to hold for every
// container, which no per-image rule can say.
func TestKyvernoAnyPattern(t *testing.T) {
	same := `[{spec: {containers: [{image: "a.io/*"}]}}, {spec: {template: {spec: {containers: [{image: "a.io/*"}]}}}}]`
	got, _ := translate(t, kyvernoRule("      match: {any: [{resources: {kinds: [Pod]}}]}\n      validate: {anyPattern: "+same+"}\n"))
	if diff := cmp.Diff(translation{Allow: []string{"a.io/*"}}, got); diff != "" {
		t.Errorf("same alternatives (-want +got):\n%s", diff)
	}
	differ := `[{spec: {containers: [{image: "a.io/*"}]}}, {spec: {containers: [{image: "b.io/*"}]}}]`
	got, _ = translate(t, kyvernoRule("      match: {any: [{resources: {kinds: [Pod]}}]}\n      validate: {anyPattern: "+differ+"}\n"))
	if !strings.Contains(got.Untranslated, "anyPattern alternatives constrain images differently") {
		t.Errorf("different alternatives: %+v, want untranslated", got)
	}
}

// TestKyvernoForeach: foreach over container lists translates per image,
// with the image's declared base, preconditions on the element, and
// several entries that judge the same images.
func TestKyvernoForeach(t *testing.T) {
	registry := "context: [{name: img, imageRegistry: {reference: \"{{ element.image }}\"}}]"
	tests := []struct {
		name, foreach string
		want          translation
	}{
		{"allowed registries", `[{list: "request.object.spec.containers", deny: {conditions: {all: [{key: "{{ element.image }}", operator: AnyNotIn, value: ["a.io/*", "b.io/*"]}]}}}]`,
			translation{Allow: []string{"a.io/*", "b.io/*"}}},
		{"all of several negations is one allow list", `[{list: "request.object.spec.[initContainers, containers][]", deny: {conditions: {all: [{key: "{{ element.image }}", operator: NotEquals, value: "a.io/*"}, {key: "{{ element.image }}", operator: NotEquals, value: "b.io/*"}]}}}]`,
			translation{Allow: []string{"a.io/*", "b.io/*"}}},
		{"element preconditions", `[{list: "request.object.spec.containers", preconditions: {any: [{key: "{{ element.image }}", operator: Equals, value: "*ubuntu*"}]}, deny: {conditions: {any: [{key: "{{ element.image }}", operator: AnyNotIn, value: ["*:22.04"]}]}}}]`,
			translation{Allow: []string{"*:22.04"}, When: []string{"*ubuntu*"}}},
		{"element pattern", `[{list: "request.object.spec.containers", pattern: {image: "a.io/*"}}]`,
			translation{Allow: []string{"a.io/*"}}},
		{"base required", `[{list: "request.object.spec.containers", ` + registry + `, deny: {conditions: {all: [{key: "{{ img.manifest.annotations.\"org.opencontainers.image.base.name\" || '' }}", operator: Equals, value: ""}]}}}]`,
			translation{RequireBase: true}},
		{"base denied", `[{list: "request.object.spec.containers", ` + registry + `, deny: {conditions: {any: [{key: "{{ img.manifest.annotations.\"org.opencontainers.image.base.name\" }}", operator: AnyIn, value: ["*centos*"]}]}}}]`,
			translation{Deny: []string{"*centos*"}}},
		{"two entries add up", `[{list: "request.object.spec.containers", deny: {conditions: {any: [{key: "{{ element.image }}", operator: AnyIn, value: ["*:latest"]}]}}}, {list: "request.object.spec.initContainers", deny: {conditions: {any: [{key: "{{ element.image }}", operator: AnyIn, value: ["*centos*"]}]}}}]`,
			translation{Deny: []string{"*:latest", "*centos*"}}},
		{"entries judging different images", `[{list: "request.object.spec.containers", preconditions: {any: [{key: "{{ element.image }}", operator: AnyIn, value: ["a*"]}]}, deny: {conditions: {any: [{key: "{{ element.image }}", operator: AnyIn, value: ["*:latest"]}]}}}, {list: "request.object.spec.containers", deny: {conditions: {any: [{key: "{{ element.image }}", operator: AnyIn, value: ["*centos*"]}]}}}]`,
			translation{Untranslated: "judge different images"}},
		{"not over containers", `[{list: "request.object.spec.volumes", deny: {conditions: {any: [{key: "{{ element.name }}", operator: Equals, value: x}]}}}]`,
			translation{Untranslated: "is not over container images"}},
		{"nested", `[{list: "request.object.spec.containers", foreach: [{list: "element.ports", deny: {}}]}]`,
			translation{Untranslated: "nested foreach"}},
		{"a condition on another field", `[{list: "request.object.spec.containers", deny: {conditions: {any: [{key: "{{ element.imagePullPolicy }}", operator: Equals, value: Always}]}}}]`,
			translation{Untranslated: "not about the images"}},
		{"all of two image conditions", `[{list: "request.object.spec.containers", deny: {conditions: {all: [{key: "{{ element.image }}", operator: AnyIn, value: ["a*"]}, {key: "{{ element.image }}", operator: AnyIn, value: ["*b"]}]}}}]`,
			translation{Untranslated: "several image conditions at once"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := translate(t, kyvernoRule("      match: {any: [{resources: {kinds: [Pod]}}]}\n      validate: {foreach: "+tt.foreach+"}\n"))
			if tt.want.Untranslated != "" {
				if !strings.Contains(got.Untranslated, tt.want.Untranslated) {
					t.Errorf("untranslated = %q, want it to say %q", got.Untranslated, tt.want.Untranslated)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("translation (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKyvernoVerifyImages: baseguard verifies no signature, so a
// verifyImages rule is an error for the images it names, and no others.
func TestKyvernoVerifyImages(t *testing.T) {
	set := mustSet(t, kyvernoRule(`      match: {any: [{resources: {kinds: [Pod]}}]}
      verifyImages: [{imageReferences: ["ghcr.io/org/*"], attestors: [{entries: [{keyless: {subject: "x"}}]}]}]
`))
	res := &subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "p"}
	if got := judge(set, res, "ghcr.io/org/app:1")["r"].status; got != policy.StatusError {
		t.Errorf("named image: %s, want error", got)
	}
	if got := judge(set, res, "docker.io/library/nginx:1")["r"].status; got != policy.StatusPass {
		t.Errorf("other image: %s, want pass", got)
	}
}

// TestKyvernoFailureActions: validationFailureAction, its per-namespace
// overrides, and a rule's failureAction and failureActionOverrides decide
// the action as Kyverno's engine does.
func TestKyvernoFailureActions(t *testing.T) {
	doc := `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: k}
spec:
  validationFailureAction: Audit
  validationFailureActionOverrides:
    - {action: Enforce, namespaces: ["prod-*"]}
    - {action: Audit, namespaces: []}
    - {action: Enforce, namespaceSelector: {matchLabels: {strict: "true"}}}
  rules:
    - name: policy-level
      match: {any: [{resources: {kinds: [Pod]}}]}
      validate: {pattern: {spec: {containers: [{image: "a.io/*"}]}}}
    - name: own-action
      match: {any: [{resources: {kinds: [Pod]}}]}
      validate:
        failureAction: Audit
        pattern: {spec: {containers: [{image: "a.io/*"}]}}
    - name: own-overrides
      match: {any: [{resources: {kinds: [Pod]}}]}
      validate:
        failureActionOverrides:
          - {action: Audit, namespaces: [prod-sandbox]}
          - {action: Enforce}
        pattern: {spec: {containers: [{image: "a.io/*"}]}}
`
	set := mustSet(t, doc)
	tests := []struct {
		ns     string
		labels map[string]string
		want   map[string]policy.Action
	}{
		{"dev", map[string]string{}, map[string]policy.Action{"policy-level": policy.Audit, "own-action": policy.Audit, "own-overrides": policy.Enforce}},
		{"prod-eu", map[string]string{}, map[string]policy.Action{"policy-level": policy.Enforce, "own-action": policy.Audit, "own-overrides": policy.Enforce}},
		{"prod-sandbox", map[string]string{}, map[string]policy.Action{"policy-level": policy.Enforce, "own-action": policy.Audit, "own-overrides": policy.Audit}},
		{"dev", map[string]string{"strict": "true"}, map[string]policy.Action{"policy-level": policy.Enforce, "own-action": policy.Audit, "own-overrides": policy.Enforce}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.ns, tt.labels), func(t *testing.T) {
			res := &subject.Resource{Kind: "Pod", APIVersion: "v1", Namespace: tt.ns, Name: "p", NamespaceLabels: tt.labels}
			got := map[string]policy.Action{}
			for rule, o := range judge(set, res, "b.io/x:1") {
				got[rule] = o.action
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKyvernoKinds: kinds baseguard does not judge are named in a note; a
// rule that names only such kinds is not applied.
func TestKyvernoKinds(t *testing.T) {
	doc := `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: k}
spec:
  validationFailureAction: Enforce
  rules:
    - name: services
      match: {any: [{resources: {kinds: [Secret, ConfigMap]}}]}
      validate: {pattern: {spec: {containers: [{image: "a.io/*"}]}}}
    - name: mixed
      match: {any: [{resources: {kinds: [apps/v1/Deployment, Secret, argoproj.io/v1alpha1/Workflow, "Stateful*", argoproj.io/v1alpha1/Rollout, argoproj.io/v1/Deployment]}}]}
      validate: {pattern: {spec: {template: {spec: {containers: [{image: "a.io/*"}]}}}}}
`
	set := mustSet(t, doc)
	p := set.Policies()[0]
	if len(p.Spec.Rules) != 1 || p.Spec.Rules[0].Name != "mixed" {
		t.Fatalf("rules %v, want only mixed", p.Spec.Rules)
	}
	if diff := cmp.Diff([]string{"apps/v1/Deployment", "StatefulSet", "argoproj.io/v1alpha1/Rollout"}, p.Spec.Rules[0].Match.Kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	var notes []string
	for _, n := range p.Notes {
		notes = append(notes, n.Rule+": "+n.Text)
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{"services: match.any[0] names Secret, ConfigMap, which baseguard does not judge", "mixed: match.any[0] names Secret, argoproj.io/v1alpha1/Workflow, argoproj.io/v1/Deployment, which baseguard does not judge", "services: the rule's match selects nothing baseguard judges"} {
		if !strings.Contains(all, want) {
			t.Errorf("notes do not say %q:\n%s", want, all)
		}
	}
}

// TestKyvernoRefused: what Kyverno itself refuses is a load error naming
// the file and line, not a guess.
func TestKyvernoRefused(t *testing.T) {
	tests := []struct {
		name, rule, want string
	}{
		{"any and all", `match: {any: [{resources: {kinds: [Pod]}}], all: [{resources: {kinds: [Pod]}}]}`, "k.yaml:7: Kyverno policy \"k\" rule \"r\": match gives both any and all"},
		{"any beside resources", `match: {any: [{resources: {kinds: [Pod]}}], resources: {kinds: [Pod]}}`, "match gives any or all together with resources"},
		{"exclude any and all", "match: {any: [{resources: {kinds: [Pod]}}]}\n      exclude: {any: [{resources: {namespaces: [a]}}], all: [{resources: {namespaces: [b]}}]}", "exclude gives both any and all"},
		{"subject kind", `match: {any: [{subjects: [{kind: Robot, name: x}]}]}`, "subject kind \"Robot\""},
		{"service account without namespace", `match: {any: [{subjects: [{kind: ServiceAccount, name: x}]}]}`, "without a namespace"},
		{"role format", `match: {any: [{roles: [admin]}]}`, "role \"admin\": Kyverno wants NAMESPACE:NAME"},
		{"name and names", `match: {any: [{resources: {kinds: [Pod], name: a, names: [b]}}]}`, "both name and names"},
		{"operation", `match: {any: [{resources: {kinds: [Pod], operations: [create]}}]}`, "operation \"create\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := kyvernoRule("      " + tt.rule + "\n      validate: {pattern: {spec: {containers: [{image: \"a.io/*\"}]}}}\n")
			_, err := policy.Load(policy.File{Name: "k.yaml", Data: []byte(doc)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	bad := strings.Replace(kyvernoRule("      match: {any: [{resources: {kinds: [Pod]}}]}\n      validate: {pattern: {spec: {containers: [{image: \"a.io/*\"}]}}}\n"), "Enforce", "Block", 1)
	if _, err := policy.Load(policy.File{Name: "k.yaml", Data: []byte(bad)}); err == nil || !strings.Contains(err.Error(), `validationFailureAction "Block"`) {
		t.Errorf("bad validationFailureAction: %v", err)
	}
}
