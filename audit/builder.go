package audit

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/baseguard/baseguard/subject"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// maxOwnerDepth bounds the ownerReferences followed from a pod: real
// chains are two or three long; a loop stops here.
const maxOwnerDepth = 16

// builder gathers the listed objects into workloads.
type builder struct {
	pullSecrets bool
	// namespaces holds the labels of each namespace; nsErr why they could
	// not be read.
	namespaces map[string]map[string]string
	nsErr      error
	// owners are the listed pod-template-bearing objects, by UID.
	owners map[types.UID]*object
	// accounts holds, per namespace/name, whether a service account names
	// pull secrets; nil when service accounts were not listed.
	accounts map[string]bool
	// byOwner is the workload of each top owner (or bare pod), by UID.
	byOwner  map[types.UID]*Workload
	items    map[*Workload]map[string]*Item
	problems []string
}

func newBuilder(pullSecrets bool) *builder {
	return &builder{
		pullSecrets: pullSecrets,
		namespaces:  map[string]map[string]string{},
		owners:      map[types.UID]*object{},
		byOwner:     map[types.UID]*Workload{},
		items:       map[*Workload]map[string]*Item{},
	}
}

// readNamespaces reads namespace labels, for namespaceSelector. When they
// cannot be read, rules that select namespaces by label are errors.
func (b *builder) readNamespaces(ctx context.Context, c *cluster) error {
	if c.namespace != "" {
		u, err := c.dyn.Resource(namespacesResource).Get(ctx, c.namespace, metav1.GetOptions{})
		if err != nil {
			b.nsErr = fmt.Errorf("getting namespace %s: %w", c.namespace, err)
			return nil
		}
		b.addNamespace(u)
		return nil
	}
	err := c.each(ctx, namespacesResource, metav1.ListOptions{}, func(u *unstructured.Unstructured) error {
		b.addNamespace(u)
		return nil
	})
	if err != nil {
		b.nsErr = err
	}
	return nil
}

func (b *builder) addNamespace(u *unstructured.Unstructured) {
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	b.namespaces[u.GetName()] = labels
}

// readOwners lists the objects of one workload kind.
func (b *builder) readOwners(ctx context.Context, c *cluster, k workloadKind) error {
	return c.each(ctx, k.gvr, metav1.ListOptions{}, func(u *unstructured.Unstructured) error {
		o, err := readObject(u, c.declared)
		if err != nil {
			b.problems = append(b.problems, err.Error())
			return nil
		}
		o.res.APIVersion = k.gvr.GroupVersion().String()
		b.owners[o.uid] = o
		return nil
	})
}

// readServiceAccounts records which service accounts name pull secrets,
// so that pods pulling without any share one resolution per image. When
// they cannot be listed every pod is resolved with its credential set.
func (b *builder) readServiceAccounts(ctx context.Context, c *cluster) {
	accounts := map[string]bool{}
	err := c.each(ctx, serviceAccountsResource, metav1.ListOptions{}, func(u *unstructured.Unstructured) error {
		secrets, _, _ := unstructured.NestedSlice(u.Object, "imagePullSecrets")
		accounts[u.GetNamespace()+"/"+u.GetName()] = len(secrets) > 0
		return nil
	})
	if err == nil {
		b.accounts = accounts
	}
}

// readPods lists the pods that run and attributes each to its workload.
func (b *builder) readPods(ctx context.Context, c *cluster) error {
	return c.each(ctx, podsResource, metav1.ListOptions{FieldSelector: runningPods}, func(u *unstructured.Unstructured) error {
		if phase, _, _ := unstructured.NestedString(u.Object, "status", "phase"); phase == "Succeeded" || phase == "Failed" {
			return nil
		}
		p, err := readObject(u, c.declared)
		if err != nil {
			b.problems = append(b.problems, err.Error())
			return nil
		}
		p.res.APIVersion = "v1"
		b.addPod(p)
		return nil
	})
}

// addPod counts a pod's containers in its workload.
func (b *builder) addPod(p *object) {
	top := b.top(p)
	w := b.workload(top)
	w.Pods++
	creds := b.credentials(p.res.Namespace, p.creds)
	for _, s := range p.subjects {
		it := b.item(w, s, creds)
		if isContainer(s) {
			it.Containers++
		}
	}
}

// top follows controller ownerReferences through the listed objects.
func (b *builder) top(o *object) *object {
	cur := o
	for i := 0; i < maxOwnerDepth && cur.owner != nil; i++ {
		next, ok := b.owners[cur.owner.UID]
		if !ok || next == o {
			break
		}
		cur = next
	}
	return cur
}

// workload returns the workload of a top owner, made on first use.
func (b *builder) workload(top *object) *Workload {
	if w, ok := b.byOwner[top.uid]; ok {
		return w
	}
	res := *top.res
	res.NamespaceLabels, res.NamespaceLabelsErr = b.namespaceLabels(res.Namespace)
	w := &Workload{Resource: &res, UID: string(top.uid)}
	b.byOwner[top.uid] = w
	b.items[w] = map[string]*Item{}
	return w
}

func (b *builder) namespaceLabels(ns string) (map[string]string, error) {
	if b.nsErr != nil {
		return nil, b.nsErr
	}
	return b.namespaces[ns], nil
}

// item returns the workload's item for a subject, made on first use.
func (b *builder) item(w *Workload, s subject.Subject, creds credentials) *Item {
	key := s.Field + "\x00" + s.Container + "\x00" + s.Image
	if it, ok := b.items[w][key]; ok {
		return it
	}
	s.Resource = w.Resource
	it := &Item{Subject: s, creds: creds}
	b.items[w][key] = it
	w.Items = append(w.Items, it)
	return it
}

// workloads returns every workload: those with pods, and the top owners
// without pods (but finished Jobs), judged on their templates.
func (b *builder) workloads() []*Workload {
	for _, o := range b.owners {
		if b.top(o) != o || o.finished {
			continue
		}
		if _, ok := b.byOwner[o.uid]; ok {
			continue
		}
		w := b.workload(o)
		creds := b.credentials(o.res.Namespace, o.creds)
		for _, s := range o.subjects {
			b.item(w, s, creds)
		}
	}
	ws := make([]*Workload, 0, len(b.byOwner))
	for _, w := range b.byOwner {
		ws = append(ws, w)
	}
	sortWorkloads(ws)
	return ws
}

// isContainer reports whether a subject is a container (of any list), as
// opposed to an image volume.
func isContainer(s subject.Subject) bool {
	return slices.Contains(subject.Lists, s.List)
}

// credentials name the credential set a pod pulls with; the zero value
// is "no pull secret", resolved with the resolver's default credentials.
type credentials struct {
	namespace, serviceAccount string
	pullSecrets               string // sorted, comma-separated
}

// credentials is the credential set of a pod in ns.
func (b *builder) credentials(ns string, c podCredentials) credentials {
	if !b.pullSecrets {
		return credentials{}
	}
	if len(c.pullSecrets) == 0 && b.accounts != nil && !b.accounts[ns+"/"+c.serviceAccount] {
		return credentials{}
	}
	names := slices.Clone(c.pullSecrets)
	slices.Sort(names)
	return credentials{namespace: ns, serviceAccount: c.serviceAccount, pullSecrets: strings.Join(slices.Compact(names), ",")}
}
