package admission

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
	authenticationv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// RoleLookup gives the Roles and ClusterRoles bound to a requester, for
// rules that select requesters by role (Kyverno's roles and clusterRoles).
// Implementations must be safe for concurrent use and must not block
// beyond ctx.
type RoleLookup interface {
	RolesOf(ctx context.Context, user authenticationv1.UserInfo, namespace string) (roles, clusterRoles []string, err error)
}

// requester gives both objects' resources the request's operation and
// requester: the old object is judged as though this requester made this
// request of it. The requester's roles are looked up only when a policy
// selects requesters by role; when they cannot be, they stay unknown, and
// rules that select by them apply.
func (h *Handler) requester(ctx context.Context, req *wireRequest, set *policy.Set, obj, old *object) {
	u := &subject.User{Name: req.UserInfo.Username, Groups: req.UserInfo.Groups}
	if h.roles != nil && selectsRoles(set) {
		roles, clusterRoles, err := h.roles.RolesOf(ctx, req.UserInfo, req.Namespace)
		if err == nil {
			u.RolesKnown, u.Roles, u.ClusterRoles = true, roles, clusterRoles
		}
	}
	for _, o := range []*object{obj, old} {
		if o != nil {
			o.res.Operation, o.res.User = string(req.Operation), u
		}
	}
}

// selectsRoles reports whether a policy selects requesters by role.
func selectsRoles(set *policy.Set) bool {
	for _, p := range set.Policies() {
		if matchSelectsRoles(p.Spec.Match) {
			return true
		}
		for _, r := range p.Spec.Rules {
			if matchSelectsRoles(r.Match) {
				return true
			}
		}
	}
	return false
}

func matchSelectsRoles(m *policy.Match) bool {
	if m == nil {
		return false
	}
	filters := append([]policy.Filter{m.Filter}, append(m.Any, m.All...)...)
	for _, f := range filters {
		if r := f.Requester; r != nil && len(r.Roles)+len(r.ClusterRoles) > 0 {
			return true
		}
	}
	return matchSelectsRoles(m.Exclude)
}

// roleBindingResync heals a missed event of the bindings' watch.
const roleBindingResync = 10 * time.Minute

// bySubject indexes bindings by the subjects they bind: `User:NAME`,
// `Group:NAME`, `ServiceAccount:NAMESPACE:NAME`.
const bySubject = "subject"

// roleBindings answers from watches of RoleBindings and
// ClusterRoleBindings, started at the first lookup.
type roleBindings struct {
	client kubernetes.Interface
	ctx    context.Context
	once   sync.Once
	rb, cb cache.SharedIndexInformer
}

var _ RoleLookup = (*roleBindings)(nil)

// WatchRoleBindings returns a RoleLookup that watches the cluster's
// RoleBindings and ClusterRoleBindings (RBAC: list and watch both) from
// its first lookup until ctx ends. Until both are listed, and when they
// cannot be, roles are unknown.
func WatchRoleBindings(ctx context.Context, cfg *rest.Config) (RoleLookup, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("making a Kubernetes client: %w", err)
	}
	return &roleBindings{client: client, ctx: ctx}, nil
}

func (r *roleBindings) start() {
	f := informers.NewSharedInformerFactoryWithOptions(r.client, roleBindingResync, informers.WithTransform(keepBinding))
	r.rb, r.cb = f.Rbac().V1().RoleBindings().Informer(), f.Rbac().V1().ClusterRoleBindings().Informer()
	for _, inf := range []cache.SharedIndexInformer{r.rb, r.cb} {
		inf.AddIndexers(cache.Indexers{bySubject: subjectKeys})
	}
	f.Start(r.ctx.Done())
}

// keepBinding drops what a binding holds besides its subjects and role.
func keepBinding(obj any) (any, error) {
	switch b := obj.(type) {
	case *rbacv1.RoleBinding:
		b.ManagedFields, b.Annotations = nil, nil
	case *rbacv1.ClusterRoleBinding:
		b.ManagedFields, b.Annotations = nil, nil
	}
	return obj, nil
}

func subjectKeys(obj any) ([]string, error) {
	var subs []rbacv1.Subject
	var ns string
	switch b := obj.(type) {
	case *rbacv1.RoleBinding:
		subs, ns = b.Subjects, b.Namespace
	case *rbacv1.ClusterRoleBinding:
		subs = b.Subjects
	}
	keys := make([]string, 0, len(subs))
	for _, s := range subs {
		switch s.Kind {
		case rbacv1.UserKind, rbacv1.GroupKind:
			keys = append(keys, s.Kind+":"+s.Name)
		case rbacv1.ServiceAccountKind:
			sns := s.Namespace
			if sns == "" {
				sns = ns
			}
			keys = append(keys, s.Kind+":"+sns+":"+s.Name)
		}
	}
	return keys, nil
}

// keysOf are the index keys a requester is bound under.
func keysOf(u authenticationv1.UserInfo) []string {
	keys := []string{rbacv1.UserKind + ":" + u.Username}
	for _, g := range u.Groups {
		keys = append(keys, rbacv1.GroupKind+":"+g)
	}
	if sa, ok := strings.CutPrefix(u.Username, "system:serviceaccount:"); ok {
		keys = append(keys, rbacv1.ServiceAccountKind+":"+sa)
	}
	return keys
}

// RolesOf returns the Roles (`NAMESPACE:NAME`) bound to the user by
// RoleBindings, and the ClusterRoles bound by ClusterRoleBindings and by
// RoleBindings in namespace, as Kyverno computes them.
func (r *roleBindings) RolesOf(_ context.Context, u authenticationv1.UserInfo, namespace string) (roles, clusterRoles []string, err error) {
	r.once.Do(r.start)
	if !r.rb.HasSynced() || !r.cb.HasSynced() {
		return nil, nil, fmt.Errorf("role bindings not listed yet")
	}
	for _, key := range keysOf(u) {
		rbs, err := r.rb.GetIndexer().ByIndex(bySubject, key)
		if err != nil {
			return nil, nil, err
		}
		for _, o := range rbs {
			b := o.(*rbacv1.RoleBinding)
			switch {
			case b.RoleRef.Kind == "Role":
				roles = append(roles, b.Namespace+":"+b.RoleRef.Name)
			case b.RoleRef.Kind == "ClusterRole" && b.Namespace == namespace:
				clusterRoles = append(clusterRoles, b.RoleRef.Name)
			}
		}
		cbs, err := r.cb.GetIndexer().ByIndex(bySubject, key)
		if err != nil {
			return nil, nil, err
		}
		for _, o := range cbs {
			clusterRoles = append(clusterRoles, o.(*rbacv1.ClusterRoleBinding).RoleRef.Name)
		}
	}
	slices.Sort(roles)
	slices.Sort(clusterRoles)
	return slices.Compact(roles), slices.Compact(clusterRoles), nil
}
