package admission

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/policy/crd"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// objectKey names a policy object: its resource and name (both kinds
// are cluster-scoped).
type objectKey struct {
	resource string
	name     string
}

// watchedKinds are the kinds of policy objects, in the order their
// policies take names (a BaseImagePolicy before a ClusterPolicy of the
// same name).
var watchedKinds = []struct {
	gvr  schema.GroupVersionResource
	kind string // singular, lower case, as kubectl names objects
}{
	{crd.BaseImagePolicies, "baseimagepolicy"},
	{crd.ClusterPolicies, "clusterpolicy"},
}

// String names the object as kubectl does: baseimagepolicy/web.
func (k objectKey) String() string {
	for _, w := range watchedKinds {
		if w.gvr.Resource == k.resource {
			return w.kind + "/" + k.name
		}
	}
	return k.resource + "/" + k.name
}

func (k objectKey) rank() int {
	for i, w := range watchedKinds {
		if w.gvr.Resource == k.resource {
			return i
		}
	}
	return len(watchedKinds)
}

// objectEntry is what is known of one policy object: the generation last
// read, whether it loaded, and the version in force.
type objectEntry struct {
	uid        types.UID
	generation int64
	// err is why the generation last read does not load (nil: it does).
	err *policy.ObjectError
	// good is the version in force: the last generation that loaded,
	// nil when none has.
	good *goodVersion
}

// goodVersion is a generation of an object that loaded.
type goodVersion struct {
	generation int64
	policy     *policy.Policy
	notes      []string
	// spec is the generation's spec, kept in the object's status while a
	// later generation does not load, so that replicas and restarts keep
	// this one in force too.
	spec json.RawMessage
}

// accepter refuses a policy the server cannot apply as written (nil:
// every policy that loads).
type accepter func(*policy.Set) error

// readPolicyObject loads the current generation of u into e (a new entry when
// e is nil or was another object of the same name), keeping the version
// in force when the generation does not load or is not accepted.
func readPolicyObject(e *objectEntry, key objectKey, u *unstructured.Unstructured, accept accepter) *objectEntry {
	if e == nil || e.uid != u.GetUID() {
		e = &objectEntry{uid: u.GetUID()}
	}
	e.generation = u.GetGeneration()
	v, err := loadVersion(key, u.Object, e.generation, accept)
	if err == nil {
		e.err, e.good = nil, v
		return e
	}
	e.err = err
	if e.good == nil {
		e.good = persistedVersion(key, u, accept)
	}
	return e
}

// loadVersion loads one generation of an object.
func loadVersion(key objectKey, obj map[string]any, generation int64, accept accepter) (*goodVersion, *policy.ObjectError) {
	o, err := policy.LoadObject(key.String(), obj)
	if err != nil {
		var oe *policy.ObjectError
		if !errors.As(err, &oe) {
			oe = &policy.ObjectError{Object: key.String(), Msg: err.Error()}
		}
		return nil, oe
	}
	if accept != nil {
		set, err := policy.NewSet([]*policy.Policy{o.Policy})
		if err == nil {
			err = accept(set)
		}
		if err != nil {
			return nil, &policy.ObjectError{Object: key.String(), Msg: err.Error()}
		}
	}
	spec, err := json.Marshal(obj["spec"])
	if err != nil {
		return nil, &policy.ObjectError{Object: key.String(), Msg: "reading spec: " + err.Error()}
	}
	return &goodVersion{generation: generation, policy: o.Policy, notes: capNotes(o.Findings()), spec: spec}, nil
}

// persistedVersion is the earlier generation the object's status keeps in
// force, when it loads: a replica that never saw it load (started after
// the bad update) applies it as the others do.
func persistedVersion(key objectKey, u *unstructured.Unstructured, accept accepter) *goodVersion {
	var gen int64
	switch v, _, _ := unstructured.NestedFieldNoCopy(u.Object, "status", "inForce", "generation"); v := v.(type) {
	case int64:
		gen = v
	case float64: // JSON decoded without the API machinery's integer handling
		gen = int64(v)
	}
	spec, ok, _ := unstructured.NestedMap(u.Object, "status", "inForce", "spec")
	if !ok || gen <= 0 || gen >= u.GetGeneration() {
		return nil
	}
	obj := map[string]any{"apiVersion": u.GetAPIVersion(), "kind": u.GetKind(), "metadata": map[string]any{"name": u.GetName()}, "spec": spec}
	v, err := loadVersion(key, obj, gen, accept)
	if err != nil {
		return nil
	}
	return v
}

// maxNotes bounds the lint notes written in a status: a policy's status
// stays small; `baseguard policy lint` lists them all.
const maxNotes = 20

func capNotes(notes []string) []string {
	if len(notes) <= maxNotes {
		return notes
	}
	more := len(notes) - maxNotes + 1
	return append(notes[:maxNotes-1:maxNotes-1], fmt.Sprintf("... and %d more: run baseguard policy lint on the object's YAML", more))
}

// inForce chooses the objects' policies in force. A name taken by the
// files (reserved: name → file) or by an object before it (BaseImagePolicy
// before ClusterPolicy, then by name) leaves an object out; conflicts says
// which and why.
func inForce(entries map[objectKey]*objectEntry, reserved map[string]string) (ps []*policy.Policy, conflicts map[objectKey]string) {
	keys := make([]objectKey, 0, len(entries))
	for k, e := range entries {
		if e.good != nil {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].rank() != keys[j].rank() {
			return keys[i].rank() < keys[j].rank()
		}
		return keys[i].name < keys[j].name
	})
	taken := map[string]string{}
	for name, file := range reserved {
		taken[name] = "the policy file " + file
	}
	conflicts = map[objectKey]string{}
	for _, k := range keys {
		p := entries[k].good.policy
		if by, ok := taken[p.Metadata.Name]; ok {
			conflicts[k] = fmt.Sprintf("a policy named %q is already given by %s", p.Metadata.Name, by)
			continue
		}
		taken[p.Metadata.Name] = k.String()
		ps = append(ps, p)
	}
	return ps, conflicts
}

// describeRules counts rules for a message.
func describeRules(n int) string {
	if n == 1 {
		return "1 rule"
	}
	return fmt.Sprintf("%d rules", n)
}
