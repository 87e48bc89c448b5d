package admission

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func roleBinding(ns, name, roleKind, role string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Subjects: subjects, RoleRef: rbacv1.RoleRef{Kind: roleKind, Name: role}}
}

// TestRolesOf: the roles bound to a requester are those Kyverno computes:
// Roles of RoleBindings anywhere, ClusterRoles of ClusterRoleBindings and
// of RoleBindings in the request's namespace; users, groups and service
// accounts bind.
func TestRolesOf(t *testing.T) {
	user := rbacv1.Subject{Kind: rbacv1.UserKind, Name: "alice"}
	group := rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "ops"}
	sa := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "ci", Name: "deployer"}
	saSameNamespace := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "builder"}
	client := fake.NewClientset(
		roleBinding("team", "a", "Role", "editor", user),
		roleBinding("other", "b", "Role", "viewer", group),
		roleBinding("team", "c", "ClusterRole", "team-admin", group),
		roleBinding("other", "d", "ClusterRole", "other-admin", user),
		roleBinding("ci", "e", "Role", "pusher", sa, saSameNamespace),
		roleBinding("team", "f", "Role", "nobody-s", rbacv1.Subject{Kind: rbacv1.UserKind, Name: "bob"}),
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "g"}, Subjects: []rbacv1.Subject{group}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "platform"}},
	)
	r := &roleBindings{client: client, ctx: t.Context()}
	lookup := func(u authenticationv1.UserInfo, ns string) (roles, clusterRoles []string) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			roles, clusterRoles, err := r.RolesOf(context.Background(), u, ns)
			if err == nil {
				return roles, clusterRoles
			}
			if time.Now().After(deadline) {
				t.Fatalf("RolesOf: %v after 10s", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, tc := range []struct {
		name               string
		user               authenticationv1.UserInfo
		ns                 string
		roles, clusterRole []string
	}{
		{"a user in a group", authenticationv1.UserInfo{Username: "alice", Groups: []string{"ops", "system:authenticated"}}, "team",
			[]string{"other:viewer", "team:editor"}, []string{"platform", "team-admin"}},
		{"the same user in another namespace", authenticationv1.UserInfo{Username: "alice", Groups: []string{"ops"}}, "other",
			[]string{"other:viewer", "team:editor"}, []string{"other-admin", "platform"}},
		{"a service account", authenticationv1.UserInfo{Username: "system:serviceaccount:ci:deployer"}, "ci", []string{"ci:pusher"}, nil},
		{"a service account named without its namespace", authenticationv1.UserInfo{Username: "system:serviceaccount:ci:builder"}, "ci", []string{"ci:pusher"}, nil},
		{"nobody bound", authenticationv1.UserInfo{Username: "carol"}, "team", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			roles, clusterRoles := lookup(tc.user, tc.ns)
			if diff := cmp.Diff([2][]string{tc.roles, tc.clusterRole}, [2][]string{roles, clusterRoles}); diff != "" {
				t.Errorf("roles, cluster roles (-want +got):\n%s", diff)
			}
		})
	}
}

// lookupFunc adapts a function to a RoleLookup, counting calls.
type lookupFunc struct {
	calls atomic.Int32
	f     func(authenticationv1.UserInfo) ([]string, []string, error)
}

func (l *lookupFunc) RolesOf(_ context.Context, u authenticationv1.UserInfo, _ string) ([]string, []string, error) {
	l.calls.Add(1)
	return l.f(u)
}

// withUser sets a review's requester.
func withUser(body []byte, name string, groups ...string) []byte {
	var rv admissionv1.AdmissionReview
	json.Unmarshal(body, &rv)
	rv.Request.UserInfo = authenticationv1.UserInfo{Username: name, Groups: groups}
	b, _ := json.Marshal(rv)
	return b
}

// TestRequesterSelection: rules that select requesters see the request's
// user and groups, and its roles when a policy selects by role; roles that
// cannot be read are unknown, and the rule applies.
func TestRequesterSelection(t *testing.T) {
	p := writePolicy(t, `
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: no-centos-but-platform}
spec:
  match:
    exclude:
      any:
        - requester: {groups: [platform]}
        - requester: {clusterRoles: [break-glass]}
  rules:
    - name: no-centos
      deny: ["*centos*"]
`)
	roles := &lookupFunc{f: func(u authenticationv1.UserInfo) ([]string, []string, error) {
		switch u.Username {
		case "oncall":
			return nil, []string{"break-glass"}, nil
		case "unreadable":
			return nil, nil, errors.New("forbidden")
		}
		return nil, nil, nil
	}}
	_, ts := newTestServer(t, Options{PolicyPaths: []string{p}, Roles: roles})
	centos := reviewOf(nil, spec{kind: "Pod", main: []string{"app=centos:7"}})
	for _, tc := range []struct {
		user    string
		groups  []string
		allowed bool
	}{
		{"dev", []string{"developers"}, false},
		{"admin", []string{"platform"}, true},
		{"oncall", nil, true},
		{"unreadable", nil, false},
	} {
		t.Run(tc.user, func(t *testing.T) {
			rv, out := review(t, ts, withUser(centos, tc.user, tc.groups...))
			if rv.Response.Allowed != tc.allowed {
				t.Errorf("allowed = %v, want %v: %s", rv.Response.Allowed, tc.allowed, out)
			}
		})
	}

	// A policy that selects no requester by role never asks for roles.
	before := roles.calls.Load()
	_, plain := newTestServer(t, Options{Roles: roles})
	review(t, plain, withUser(centos, "dev"))
	if n := roles.calls.Load() - before; n != 0 {
		t.Errorf("roles looked up %d times for policies that select no role", n)
	}
}
