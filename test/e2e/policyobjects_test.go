package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/policy/crd"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// policyCRDs are the CRD files the tests install, as shipped.
func policyCRDs() []string {
	return []string{
		filepath.Join(repoRoot, "charts", "baseguard", "crds", "baseimagepolicies.yaml"),
		filepath.Join(repoRoot, "deploy", "kyverno-clusterpolicy-crd.yaml"),
	}
}

// logBuffer keeps what the in-process server logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logger logs warnings to stderr and everything from info up to w.logs.
func (w *webhook) logger() *slog.Logger {
	return slog.New(teeHandler{
		slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}),
		slog.NewTextHandler(&w.logs, &slog.HandlerOptions{Level: slog.LevelInfo}),
	})
}

// teeHandler sends each record to every handler that takes its level.
type teeHandler []slog.Handler

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range t {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(teeHandler, len(t))
	for i, h := range t {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	out := make(teeHandler, len(t))
	for i, h := range t {
		out[i] = h.WithGroup(name)
	}
	return out
}

// apply runs kubectl apply -f on a document written to a file named name.
func apply(t *testing.T, name, doc string) (stdout, stderr string, err error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return kubectl(t, "apply", "-f", file)
}

// changeWindow bounds how long a policy change may take to decide
// admission: the watch delivers it in milliseconds; this is the e2e
// tests' patience, not a performance target.
const changeWindow = 10 * time.Second

// eventually polls cond until it holds, and returns how long that took.
func eventually(t *testing.T, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ok, last := cond()
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > changeWindow {
			t.Fatalf("%s: not within %s (last: %s)", what, changeWindow, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// decides polls a dry-run pod of image in ns until it is denied
// (mentioning each of says) or admitted, as wanted.
func decides(t *testing.T, ns, image string, wantDenied bool, says ...string) time.Duration {
	t.Helper()
	verdict := map[bool]string{true: "denied", false: "admitted"}[wantDenied]
	return eventually(t, fmt.Sprintf("%s in %s %s", image, ns, verdict), func() (bool, string) {
		err := createPod(context.Background(), ns, "probe", image, true)
		if (err != nil) != wantDenied {
			return false, fmt.Sprint(err)
		}
		for _, s := range says {
			if err == nil || !strings.Contains(err.Error(), s) {
				return false, fmt.Sprint(err)
			}
		}
		return true, ""
	})
}

// readyOf reads an object's Ready condition.
func readyOf(t *testing.T, gvr schema.GroupVersionResource, name string) (status, reason, message string, obj *unstructured.Unstructured) {
	t.Helper()
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u, err := dc.Resource(gvr).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return "", "", err.Error(), nil
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		c, _ := c.(map[string]any)
		if c["type"] == crd.ConditionReady {
			return fmt.Sprint(c["status"]), fmt.Sprint(c["reason"]), fmt.Sprint(c["message"]), u
		}
	}
	return "", "", "no Ready condition", u
}

// waitReady waits until an object's Ready condition is status for its
// latest generation, its message holding each of says.
func waitReady(t *testing.T, gvr schema.GroupVersionResource, name, status string, says ...string) *unstructured.Unstructured {
	t.Helper()
	var obj *unstructured.Unstructured
	eventually(t, fmt.Sprintf("%s %s Ready=%s", gvr.Resource, name, status), func() (bool, string) {
		s, reason, msg, u := readyOf(t, gvr, name)
		obj = u
		if s != status || u == nil {
			return false, s + " " + reason + ": " + msg
		}
		if g, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration"); g != u.GetGeneration() {
			return false, fmt.Sprintf("status of generation %d, object at %d", g, u.GetGeneration())
		}
		for _, want := range says {
			if !strings.Contains(msg, want) {
				return false, reason + ": " + msg
			}
		}
		return true, ""
	})
	return obj
}

func deleteObject(t *testing.T, gvr schema.GroupVersionResource, name string) {
	t.Helper()
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := dc.Resource(gvr).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("deleting %s %s: %v", gvr.Resource, name, err)
	}
}

// mustContain checks that out holds each string.
func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}

var topLevelKind = regexp.MustCompile(`(?m)^kind: ClusterRole$`)

// TestPolicyObjectsRBAC: the ClusterRoles of deploy/baseguard.yaml let
// serve watch BaseImagePolicies and write their status, and nothing more
// on them.
func TestPolicyObjectsRBAC(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "baseguard.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const user = "e2e-rbac-baseguard"
	roles := 0
	for _, doc := range strings.Split(string(data), "\n---\n") {
		if !topLevelKind.MatchString(doc) {
			continue
		}
		var role rbacv1.ClusterRole
		if err := yaml.UnmarshalStrict([]byte(doc), &role); err != nil {
			t.Fatal(err)
		}
		role.Name = "e2e-rbac-" + role.Name
		role.ResourceVersion = ""
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: role.Name},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
			Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: user}},
		}
		if _, err := clientset.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := clientset.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			clientset.RbacV1().ClusterRoleBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{})
			clientset.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{})
		})
		roles++
	}
	if roles < 2 {
		t.Fatalf("deploy/baseguard.yaml has %d ClusterRoles", roles)
	}
	allowed := func(verb, subresource string) bool {
		t.Helper()
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: []string{"system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Group: "baseguard.dev", Resource: "baseimagepolicies", Subresource: subresource, Verb: verb, Name: "any"},
		}}
		got, err := clientset.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got.Status.Allowed
	}
	// The API server's authorizer sees new roles and bindings through its
	// own watch, a moment after they are created.
	for deadline := time.Now().Add(10 * time.Second); !allowed("get", "") && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	for _, tc := range []struct {
		verb, subresource string
		allowed           bool
	}{
		{"get", "", true}, {"list", "", true}, {"watch", "", true}, {"update", "status", true},
		{"create", "", false}, {"update", "", false}, {"patch", "", false}, {"delete", "", false}, {"patch", "status", false},
	} {
		if got := allowed(tc.verb, tc.subresource); got != tc.allowed {
			t.Errorf("%s baseimagepolicies %s: allowed %v, want %v", tc.verb, tc.subresource, got, tc.allowed)
		}
	}
	limited := rest.CopyConfig(cfg)
	limited.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := admission.WatchClusterPolicies(wctx, limited, admission.ClusterPolicyOptions{SyncTimeout: 10 * time.Second}); err != nil {
		t.Errorf("watching with the deployed RBAC: %v", err)
	}
	if _, err := admission.WatchClusterPolicies(wctx, limited, admission.ClusterPolicyOptions{Kyverno: true, SyncTimeout: 2 * time.Second}); err == nil {
		t.Errorf("watching Kyverno ClusterPolicies with RBAC that does not grant it: no error")
	}
}
