package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/policy"
)

// setBuiltin rewrites the built-in policy the webhook serves and waits
// until it is in force: a dry-run centos pod in ns is denied or admitted
// as wanted.
func setBuiltin(t *testing.T, content, ns string, wantDenied bool) {
	t.Helper()
	if err := hook.writePolicy("builtin.yaml", content); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := createPod(context.Background(), ns, "probe", deprecated, true)
		if (err != nil) == wantDenied {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("policy change not in force after 10s (last answer: %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// createExempt creates obj while the built-in policy exempts its
// namespace: an object admitted under an earlier policy that fails the
// current one.
func createExempt(t *testing.T, ns string, create func() error) {
	t.Helper()
	builtin := string(policy.BuiltinYAML())
	exempt := strings.Replace(builtin, "  action: enforce\n", "  action: enforce\n  match:\n    namespaces: {exclude: ["+ns+"]}\n", 1)
	if exempt == builtin {
		t.Fatal("could not edit the built-in policy")
	}
	setBuiltin(t, exempt, ns, false)
	err := create()
	setBuiltin(t, builtin, ns, true)
	if err != nil {
		t.Fatalf("creating while the namespace is exempt: %v", err)
	}
}

// TestUpdateCannotEscape: `kubectl label` that brings a stricter rule into
// force and `kubectl set image` to a failing image are refused, even where
// the object failed already; scaling an object that fails is admitted,
// with a warning saying so.
func TestUpdateCannotEscape(t *testing.T) {
	requireEnv(t)
	ns := namespace(t, "e2e-escape", nil)
	ctx := context.Background()
	web := workload("Deployment", "web", approved)
	web.SetNamespace(ns)
	if err := cl.Create(ctx, web); err != nil {
		t.Fatal(err)
	}
	if err := createPod(ctx, ns, "single", approved, false); err != nil {
		t.Fatal(err)
	}
	refused := func(t *testing.T, says []string, args ...string) {
		t.Helper()
		_, stderr, err := kubectl(t, append(args, "-n", ns)...)
		if err == nil || !strings.Contains(stderr, "denied the request") {
			t.Errorf("kubectl %s: want baseguard's denial, got %v:\n%s", strings.Join(args, " "), err, stderr)
			return
		}
		for _, s := range says {
			if !strings.Contains(stderr, s) {
				t.Errorf("kubectl %s: the denial does not say %q:\n%s", strings.Join(args, " "), s, stderr)
			}
		}
	}
	admitted := func(t *testing.T, args ...string) string {
		t.Helper()
		_, stderr, err := kubectl(t, append(args, "-n", ns)...)
		if err != nil {
			t.Errorf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return stderr
	}

	t.Run("a label that brings a stricter rule into force", func(t *testing.T) {
		refused(t, []string{"require-minimal-base-images", "Deployment/" + ns + "/web"}, "label", "deployment/web", "security.enforce=high")
		refused(t, []string{"require-minimal-base-images", "Pod/" + ns + "/single"}, "label", "pod/single", "security.enforce=high")
		admitted(t, "label", "deployment/web", "tier=frontend")
	})

	t.Run("an object that fails already", func(t *testing.T) {
		legacy := workload("Deployment", "legacy", deprecated)
		legacy.SetNamespace(ns)
		createExempt(t, ns, func() error { return cl.Create(ctx, legacy) })
		admitted(t, "scale", "deployment/legacy", "--replicas=3") // the scale subresource: no pod template in it
		if stderr := admitted(t, "patch", "deployment/legacy", "-p", `{"spec":{"replicas":4}}`); !strings.Contains(stderr, "were in the object before this update and do not block it") {
			t.Errorf("scaling a failing deployment by a patch: the warning does not say why it was admitted:\n%s", stderr)
		}
		admitted(t, "annotate", "deployment/legacy", "owner=team-a")
		refused(t, []string{"ubuntu:18.04", "spec.template.spec.containers[0].image"}, "set", "image", "deployment/legacy", "app=ubuntu:18.04")
		refused(t, []string{"centos:8"}, "set", "image", "deployment/legacy", "app=centos:8")
		refused(t, []string{"require-minimal-base-images"}, "label", "deployment/legacy", "security.enforce=high")
		admitted(t, "set", "image", "deployment/legacy", "app="+approved)
	})
}
