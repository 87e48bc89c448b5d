package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/baseguard/baseguard/subject"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/pager"
)

var (
	podsResource            = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	namespacesResource      = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	serviceAccountsResource = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
)

// runningPods selects the pods that run or will: not Succeeded, not Failed.
const runningPods = "status.phase!=Succeeded,status.phase!=Failed"

// cluster lists what the audit reads.
type cluster struct {
	dyn       dynamic.Interface
	disc      discovery.DiscoveryInterface
	namespace string
	pageSize  int64
	// declared are the workload kinds the policies declare.
	declared []subject.Workload
}

// workloadKind is a served kind that keeps a pod template.
type workloadKind struct {
	gvr      schema.GroupVersionResource
	workload subject.Workload
}

// templateKind finds the workload an API resource is: a kind that keeps a
// pod template, of subject's table or declared by a policy. Pods are listed
// apart, and PodTemplates are templates nothing runs.
func templateKind(gv schema.GroupVersion, kind string, declared []subject.Workload) (subject.Workload, bool) {
	w, ok := subject.FindWorkload(gv.String(), kind, declared)
	if !ok || w.Group != gv.Group || len(w.TemplatePath) == 0 || (w.Group == "" && w.Kind == "PodTemplate") {
		return subject.Workload{}, false
	}
	return w, true
}

// workloadKinds finds, by discovery, the served kinds that keep a pod
// template. Groups that could not be discovered are returned as notes: the
// audit goes on without them.
func (c *cluster) workloadKinds() ([]workloadKind, []string, error) {
	lists, err := c.disc.ServerPreferredNamespacedResources()
	var notes []string
	if err != nil {
		var gd *discovery.ErrGroupDiscoveryFailed
		if !errors.As(err, &gd) || len(lists) == 0 {
			return nil, nil, fmt.Errorf("discovering the cluster's workload kinds: %w", err)
		}
		for gv, e := range gd.Groups {
			notes = append(notes, fmt.Sprintf("API group %s could not be discovered (%v): workloads of its kinds are not listed; their pods count as their own workloads", gv, e))
		}
		slices.Sort(notes)
	}
	var kinds []workloadKind
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") {
				continue
			}
			if w, ok := templateKind(gv, r.Kind, c.declared); ok {
				kinds = append(kinds, workloadKind{gvr: gv.WithResource(r.Name), workload: w})
			}
		}
	}
	slices.SortFunc(kinds, func(a, b workloadKind) int { return strings.Compare(a.gvr.String(), b.gvr.String()) })
	return kinds, notes, nil
}

// each lists a resource a page at a time, in the audited namespace (all
// when empty), and calls fn with every item.
func (c *cluster) each(ctx context.Context, gvr schema.GroupVersionResource, opts metav1.ListOptions, fn func(*unstructured.Unstructured) error) error {
	ri := c.dyn.Resource(gvr)
	var list func(ctx context.Context, opts metav1.ListOptions) (*unstructured.UnstructuredList, error) = ri.List
	if c.namespace != "" && gvr != namespacesResource {
		list = ri.Namespace(c.namespace).List
	}
	p := pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) { return list(ctx, opts) })
	p.PageSize = c.pageSize
	p.PageBufferSize = 1 // one page read ahead at most: memory stays a page or two
	err := p.EachListItem(ctx, opts, func(obj runtime.Object) error {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return fmt.Errorf("listing %s: unexpected %T", gvr.Resource, obj)
		}
		return fn(u)
	})
	if err != nil {
		return fmt.Errorf("listing %s: %w", gvr.GroupResource(), err)
	}
	return nil
}

// object is what the audit keeps of a listed object: who it is, who owns
// it, its subjects and the credentials its pods pull with.
type object struct {
	uid types.UID
	// finished marks a Job that completed or failed: it runs nothing and
	// never will, so it is no workload of its own.
	finished bool
	res      *subject.Resource
	owner    *metav1.OwnerReference
	subjects []subject.Subject
	creds    podCredentials
}

// podCredentials say where a pod's registry credentials are.
type podCredentials struct {
	serviceAccount string
	pullSecrets    []string
}

// readObject reads a listed object's subjects with subject.ReadObject, as
// `check` reads a manifest, with the workload kinds the policies declare.
func readObject(u *unstructured.Unstructured, declared []subject.Workload) (*object, error) {
	id := u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
	res, subs, err := subject.ReadObject(id, objectNode(u.Object), subject.Options{DefaultNamespace: u.GetNamespace(), Workloads: declared})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", id, err)
	}
	if res == nil {
		return nil, fmt.Errorf("reading %s: not a pod-bearing object", id)
	}
	res.File, res.Line = "", 0
	for i := range subs {
		subs[i].Resource, subs[i].Line, subs[i].Column = res, 0, 0
	}
	o := &object{uid: u.GetUID(), res: res, owner: controllerOf(u.GetOwnerReferences()), subjects: subs, finished: finishedJob(u)}
	if w, ok := subject.FindWorkload(u.GetAPIVersion(), u.GetKind(), declared); ok {
		if spec, ok := nested(u.Object, w.SpecPath()); ok {
			o.creds = credentialsOf(spec)
		}
	}
	return o, nil
}

// controllerOf is the owner that manages an object: the reference marked
// controller, else the only owner.
func controllerOf(refs []metav1.OwnerReference) *metav1.OwnerReference {
	for i := range refs {
		if refs[i].Controller != nil && *refs[i].Controller {
			return &refs[i]
		}
	}
	if len(refs) == 1 {
		return &refs[0]
	}
	return nil
}

// nested follows path through maps.
func nested(obj map[string]any, path []string) (map[string]any, bool) {
	if len(path) == 0 {
		return nil, false
	}
	cur := obj
	for _, k := range path {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil, false
		}
		cur = next
	}
	return cur, true
}

// credentialsOf reads a pod spec's service account and pull secrets.
func credentialsOf(spec map[string]any) podCredentials {
	c := podCredentials{serviceAccount: "default"}
	if sa, _ := spec["serviceAccountName"].(string); sa != "" {
		c.serviceAccount = sa
	}
	list, _ := spec["imagePullSecrets"].([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		if name, _ := m["name"].(string); name != "" {
			c.pullSecrets = append(c.pullSecrets, name)
		}
	}
	return c
}

// finishedJob reports a Job whose Complete or Failed condition is true.
func finishedJob(u *unstructured.Unstructured) bool {
	if u.GetKind() != "Job" || subject.GroupOf(u.GetAPIVersion()) != "batch" {
		return false
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if (m["type"] == "Complete" || m["type"] == "Failed") && m["status"] == "True" {
			return true
		}
	}
	return false
}
