package policy_test

import (
	"testing"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/subject"
)

// BenchmarkEvaluate judges one container against the seed policy (matches
// by kind and label) and against matchPolicy (14 rules matching by any,
// all, exclude, names, operations and requesters), offline and at
// admission.
func BenchmarkEvaluate(b *testing.B) {
	ref, _ := imageref.Parse("registry.example.com/base/alpine:3.19")
	l := lineage.Of(ref, lineage.SourceReference)
	ci := &subject.Resource{Kind: "Deployment", APIVersion: "apps/v1", Namespace: "prod", Name: "web-1", Labels: map[string]string{"tier": "web"}, NamespaceLabels: map[string]string{}}
	adm := *ci
	adm.Operation, adm.User = "CREATE", &subject.User{Name: "alice", Groups: []string{"devs"}, RolesKnown: true, Roles: []string{"ci:deployer"}}
	for _, bc := range []struct {
		name string
		doc  string
		res  *subject.Resource
	}{{"seed", string(mustRead(b, "seed-policy.yaml")), ci}, {"match-offline", matchPolicy, ci}, {"match-admission", matchPolicy, &adm}} {
		b.Run(bc.name, func(b *testing.B) {
			set, err := loadDocs(bc.doc)
			if err != nil {
				b.Fatal(err)
			}
			sub := &subject.Subject{Resource: bc.res, Container: "app", List: subject.Containers, Field: "spec.template.spec.containers[0].image", Image: ref.Written, Source: lineage.SourceReference}
			b.ReportAllocs()
			for b.Loop() {
				set.Evaluate(sub, l, now)
			}
		})
	}
}
