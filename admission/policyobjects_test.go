package admission

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/policy/crd"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// bip makes a BaseImagePolicy object as the API server returns it.
func bip(t testing.TB, name string, uid types.UID, generation int64, spec, status string) *unstructured.Unstructured {
	t.Helper()
	doc := "apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata: {name: " + name + "}\nspec: " + spec + "\n"
	if status != "" {
		doc += "status: " + status + "\n"
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	u.SetUID(uid)
	u.SetGeneration(generation)
	return u
}

const (
	goodSpec = "{rules: [{name: no-centos, deny: ['*centos*']}, {name: approved, allow: ['registry.example.com/base/alpine*']}]}"
	badSpec  = "{rules: [{name: no-centos, message: checks nothing}]}"
)

// TestABadUpdateKeepsTheLastGoodVersion: a generation that does not load
// leaves the last one that did in force, and says so in the status; the
// next good one replaces it.
func TestABadUpdateKeepsTheLastGoodVersion(t *testing.T) {
	key := objectKey{resource: "baseimagepolicies", name: "web"}
	e := readPolicyObject(nil, key, bip(t, "web", "u1", 1, goodSpec, ""), nil)
	st := objectStatus(crd.Status{}, e, "")
	if e.err != nil || st.Rules != 2 || ready(st).Status != metav1.ConditionTrue || st.InForce != nil {
		t.Fatalf("generation 1: err %v, status %+v", e.err, st)
	}
	if len(st.Notes) != 1 || !strings.HasPrefix(st.Notes[0], "risk at spec.rules[1].allow[0] (rule approved)") {
		t.Errorf("notes: %q", st.Notes)
	}

	e = readPolicyObject(e, key, bip(t, "web", "u1", 2, badSpec, ""), nil)
	st = objectStatus(st, e, "")
	c := ready(st)
	if e.good == nil || e.good.generation != 1 || c.Status != metav1.ConditionFalse || c.Reason != crd.ReasonInvalid {
		t.Fatalf("generation 2: good %+v, condition %+v", e.good, c)
	}
	for _, s := range []string{"generation 2 does not load", `spec.rules[0]: rule "no-centos" checks nothing`, "generation 1 stays in force"} {
		if !strings.Contains(c.Message, s) {
			t.Errorf("message %q lacks %q", c.Message, s)
		}
	}
	if st.Rules != 2 || st.InForce == nil || st.InForce.Generation != 1 || !strings.Contains(string(st.InForce.Spec), "*centos*") {
		t.Errorf("generation 2 status: rules %d, in force %+v", st.Rules, st.InForce)
	}

	e = readPolicyObject(e, key, bip(t, "web", "u1", 3, "{rules: [{name: only, deny: ['*ubuntu*']}]}", ""), nil)
	st = objectStatus(st, e, "")
	if e.good.generation != 3 || st.Rules != 1 || st.InForce != nil || ready(st).Status != metav1.ConditionTrue {
		t.Errorf("generation 3: %+v", st)
	}
}

// TestAFreshReplicaKeepsThePersistedVersion: a replica that never saw the
// good version load finds it in the status and applies it too; a
// recreated object (new uid) starts afresh.
func TestAFreshReplicaKeepsThePersistedVersion(t *testing.T) {
	key := objectKey{resource: "baseimagepolicies", name: "web"}
	persisted := "{inForce: {generation: 4, spec: " + goodSpec + "}}"
	e := readPolicyObject(nil, key, bip(t, "web", "u1", 5, badSpec, persisted), nil)
	if e.err == nil || e.good == nil || e.good.generation != 4 || len(e.good.policy.Spec.Rules) != 2 {
		t.Fatalf("want generation 4 from the status in force, got %+v", e)
	}
	for name, status := range map[string]string{
		"a later generation": "{inForce: {generation: 5, spec: " + goodSpec + "}}",
		"a spec that is bad": "{inForce: {generation: 4, spec: " + badSpec + "}}",
		"no generation":      "{inForce: {spec: " + goodSpec + "}}",
	} {
		if e := readPolicyObject(nil, key, bip(t, "web", "u1", 5, badSpec, status), nil); e.good != nil {
			t.Errorf("%s in the status: generation %d put in force", name, e.good.generation)
		}
	}
	old := readPolicyObject(nil, key, bip(t, "web", "u1", 1, goodSpec, ""), nil)
	if e := readPolicyObject(old, key, bip(t, "web", "u2", 1, badSpec, ""), nil); e.good != nil {
		t.Errorf("a recreated object kept the old object's policy in force")
	}
}

// TestNamesTakenFirstWin: a name given by the files, or by a
// BaseImagePolicy, leaves a later object of that name out.
func TestNamesTakenFirstWin(t *testing.T) {
	entries := map[objectKey]*objectEntry{}
	add := func(resource, name, policyName string) objectKey {
		k := objectKey{resource: resource, name: name}
		entries[k] = &objectEntry{good: &goodVersion{policy: &policy.Policy{Metadata: policy.Metadata{Name: policyName}}}}
		return k
	}
	a := add("baseimagepolicies", "a", "a")
	cp := add("clusterpolicies", "a", "a")
	f := add("baseimagepolicies", "f", "from-file")
	z := add("clusterpolicies", "z", "z")
	entries[objectKey{resource: "baseimagepolicies", name: "bad"}] = &objectEntry{}
	ps, conflicts := inForce(entries, map[string]string{"from-file": "/etc/p.yaml"})
	var names []string
	for _, p := range ps {
		names = append(names, p.Metadata.Name)
	}
	if diff := cmp.Diff([]string{"a", "z"}, names); diff != "" {
		t.Errorf("in force (-want +got):\n%s", diff)
	}
	want := map[objectKey]string{
		cp: `a policy named "a" is already given by baseimagepolicy/a`,
		f:  `a policy named "from-file" is already given by the policy file /etc/p.yaml`,
	}
	if diff := cmp.Diff(want, conflicts, cmp.AllowUnexported(objectKey{})); diff != "" {
		t.Errorf("conflicts (-want +got):\n%s", diff)
	}
	_, _ = a, z
	st := objectStatus(crd.Status{}, &objectEntry{generation: 1, good: entries[cp].good}, conflicts[cp])
	if c := ready(st); c.Reason != crd.ReasonNameConflict || st.Rules != 0 {
		t.Errorf("conflict status: %+v", st)
	}
}

// TestBuiltinOnlyWhileNothingElse: without policy files, the built-in
// policy is in force until an object gives a policy, and again after.
func TestBuiltinOnlyWhileNothingElse(t *testing.T) {
	c := &ClusterPolicies{entries: map[objectKey]*objectEntry{}, log: slog.New(slog.DiscardHandler)}
	s, err := newPolicyStore(nil, nil, c)
	if err != nil {
		t.Fatal(err)
	}
	if !s.builtinInForce() || policyNames(s.Set())[0] != "enforce-base-images" {
		t.Fatalf("no object: %v", policyNames(s.Set()))
	}
	key := objectKey{resource: "baseimagepolicies", name: "web"}
	c.entries[key] = readPolicyObject(nil, key, bip(t, "web", "u1", 1, goodSpec, ""), nil)
	s.compose()
	if s.builtinInForce() || cmp.Diff([]string{"web"}, policyNames(s.Set())) != "" {
		t.Errorf("an object in force: %v", policyNames(s.Set()))
	}
	c.entries[key] = readPolicyObject(nil, key, bip(t, "web", "u2", 1, badSpec, ""), nil)
	s.compose()
	if !s.builtinInForce() {
		t.Errorf("an object that never loaded: %v", policyNames(s.Set()))
	}
}

func ready(st crd.Status) metav1.Condition {
	for _, c := range st.Conditions {
		if c.Type == crd.ConditionReady {
			return c
		}
	}
	return metav1.Condition{}
}

// TestReadyKeepsItsTransitionTime: rewriting the same outcome keeps the
// condition as it was, so replicas agree and write nothing.
func TestReadyKeepsItsTransitionTime(t *testing.T) {
	key := objectKey{resource: "baseimagepolicies", name: "web"}
	e := readPolicyObject(nil, key, bip(t, "web", "u1", 1, goodSpec, ""), nil)
	first := objectStatus(crd.Status{}, e, "")
	first.Conditions[0].LastTransitionTime = metav1.NewTime(first.Conditions[0].LastTransitionTime.Add(-3600e9))
	if again := objectStatus(first, e, ""); !sameStatus(first, again) {
		t.Errorf("the same outcome changed the status:\n%s", cmp.Diff(first, again))
	}
}

// TestObjectsTheServerCannotApplyAreRefused: without namespace labels, an
// object selecting namespaces by label does not load (its status says
// why), and the files' policies stay in force.
func TestObjectsTheServerCannotApplyAreRefused(t *testing.T) {
	key := objectKey{resource: "baseimagepolicies", name: "tiered"}
	spec := "{rules: [{name: r, deny: [a], match: {namespaceSelector: {matchLabels: {tier: restricted}}}}]}"
	e := readPolicyObject(nil, key, bip(t, "tiered", "u1", 1, spec, ""), needNamespaceLabels)
	if e.err == nil || e.good != nil || !strings.Contains(e.err.Msg, "no namespace labels can be read") {
		t.Fatalf("want refused for want of namespace labels, got %+v", e)
	}
	st := objectStatus(crd.Status{}, e, "")
	if c := ready(st); c.Reason != crd.ReasonInvalid || !strings.Contains(c.Message, "selects namespaces by label") {
		t.Errorf("status: %+v", c)
	}
	if e := readPolicyObject(nil, key, bip(t, "tiered", "u1", 1, spec, ""), nil); e.err != nil {
		t.Errorf("with namespace labels: %v", e.err)
	}
}
