package policy_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// FuzzLoad: no policy document, however malformed, panics the loader;
// whatever loads also compiles or is refused with an error.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "examples", "policies", "*.yaml"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nspec: {rules: [{name: a, validate: {pattern: {spec: {containers: [{image: '!*:latest & !x'}]}}}}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := policy.Load(policy.File{Name: "f.yaml", Data: data})
		if err != nil {
			return
		}
		if set, err := policy.NewSet(ps); err == nil {
			for _, p := range set.Policies() {
				policy.Lint(p)
			}
		}
	})
}

// kyvernoSeeds are Kyverno policies using what the import translates:
// match and exclude blocks, requesters, overrides, preconditions,
// patterns and foreach.
var kyvernoSeeds = []string{
	kyvernoRule(`      match: {any: [{resources: {kinds: [Pod], namespaces: ["prod-*"]}}, {subjects: [{kind: Group, name: devs}], roles: ["ci:deployer"]}]}
      exclude: {all: [{resources: {selector: {matchLabels: {skip: "y*"}}}}, {clusterRoles: [admin]}]}
      preconditions: {all: [{key: "{{request.operation || 'BACKGROUND'}}", operator: AnyIn, value: [CREATE, BACKGROUND]}]}
      validate:
        failureActionOverrides: [{action: Audit, namespaces: [dev], namespaceSelector: {matchLabels: {t: a}}}]
        pattern: {spec: {=(initContainers): [{image: "a.io/* | b.io/*"}], containers: [{image: "a.io/* | b.io/*"}]}}
`),
	kyvernoRule(`      match: {resources: {kinds: ["apps/v1/Deployment", "Pod/ephemeralcontainers", "*"], operations: [CREATE]}, subjects: [{kind: ServiceAccount, namespace: ci, name: "*"}]}
      exclude: {resources: {kinds: [Pod], annotations: {a: b}, namespaceSelector: {matchExpressions: [{key: x, operator: In, values: [y]}]}}}
      validate:
        foreach:
          - list: "request.object.spec.[initContainers, containers][]"
            context: [{name: img, imageRegistry: {reference: "{{ element.image }}"}}, {name: base, variable: {jmesPath: 'img.manifest.annotations."org.opencontainers.image.base.name"', default: ''}}]
            preconditions: {any: [{key: "{{ element.image }}", operator: Equals, value: "*ubuntu*"}]}
            deny: {conditions: {any: [{key: "{{ base }}", operator: AnyNotIn, value: '["a.io/b:1"]'}, {key: "{{ element.image }}", operator: AnyIn, value: ["*:latest"]}]}}
`),
	kyvernoRule(`      match: {all: [{resources: {kinds: [Job, CronJob]}}, {resources: {names: ["web-?", "x[1]"]}}]}
      validate:
        deny: {conditions: {any: [{key: "{{ images.containers.*.registry }}", operator: AnyNotIn, value: [ghcr.io, "*.gcr.io"]}, {key: "{{ images.initContainers.*.tag }}", operator: AnyIn, value: [latest]}]}}
`),
	kyvernoRule(`      match: {any: [{resources: {kinds: [Pod]}}]}
      verifyImages: [{imageReferences: ["ghcr.io/*"]}]
`),
}

// FuzzKyverno: no Kyverno policy panics the import; what imports compiles
// and evaluates; and a policy whose rules all translated means the same
// written out natively (baseguard policy convert) as imported.
func FuzzKyverno(f *testing.F) {
	for _, s := range kyvernoSeeds {
		f.Add([]byte(s))
	}
	for _, name := range []string{"seed-policy.yaml", "require-base-image.yaml"} {
		if data, err := os.ReadFile(filepath.Join("..", "examples", "policies", name)); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := policy.Load(policy.File{Name: "f.yaml", Data: data})
		if err != nil {
			return
		}
		set, err := policy.NewSet(ps)
		if err != nil {
			var le *policy.LoadError
			if !errors.As(err, &le) || le.File != "f.yaml" {
				t.Fatalf("an imported policy fails to compile without naming its file: %v", err)
			}
			return
		}
		for _, p := range set.Policies() {
			policy.Lint(p)
			if !allTranslated(p) {
				continue
			}
			out, err := yaml.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			native, err := loadDocs(string(out))
			if err != nil {
				t.Fatalf("converted policy does not load: %v\n%s", err, out)
			}
			one, _ := policy.NewSet([]*policy.Policy{p})
			for _, res := range fuzzResources() {
				a, b := statuses(judge(one, res, "a.io/b:1", "nginx")), statuses(judge(native, res, "a.io/b:1", "nginx"))
				if diff := cmp.Diff(a, b); diff != "" {
					t.Fatalf("converted policy decides %+v otherwise (-imported +converted):\n%s\n%s", *res, diff, out)
				}
			}
		}
	})
}

func allTranslated(p *policy.Policy) bool {
	for _, r := range p.Spec.Rules {
		if r.Untranslated != "" {
			return false
		}
	}
	return true
}

func fuzzResources() []*subject.Resource {
	return []*subject.Resource{
		{Kind: "Pod", APIVersion: "v1", Namespace: "prod-1", Name: "web-1", Labels: map[string]string{"skip": "yes"}, NamespaceLabels: map[string]string{"t": "a"}},
		{Kind: "Deployment", APIVersion: "apps/v1", Namespace: "dev", Name: "x[1]", Operation: "CREATE", User: &subject.User{Name: "system:serviceaccount:ci:d", Groups: []string{"devs"}, RolesKnown: true, Roles: []string{"ci:deployer"}, ClusterRoles: []string{"admin"}}, NamespaceLabels: map[string]string{}},
		{Kind: "CronJob", APIVersion: "batch/v1", Namespace: "kube-system", Name: "c"},
	}
}
