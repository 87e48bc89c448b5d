package e2e

import (
	"context"
	"crypto/tls"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baseguard/baseguard/admission/pki"
	"github.com/baseguard/baseguard/policy"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	approved   = "registry.example.com/base/alpine:3.19"
	wolfi      = "registry.example.com/base/wolfi:latest"
	deprecated = "centos:7"
)

// TestSeedValidationCommands runs the seed document's three validation
// commands with the real kubectl.
func TestSeedValidationCommands(t *testing.T) {
	requireEnv(t)
	cases := []struct {
		image    string
		admitted bool
		says     []string
	}{
		{"debian:12", false, []string{`container "test"`, "debian:12", "approved-base-images"}},
		{approved, true, []string{"pod/test created"}},
		{deprecated, false, []string{"centos:7", "block-deprecated-base-images", "use instead"}},
	}
	for _, tc := range cases {
		t.Run(tc.image, func(t *testing.T) {
			stdout, stderr, err := kubectl(t, "run", "test", "--image="+tc.image, "-n", "default")
			if tc.admitted {
				if err != nil {
					t.Fatalf("kubectl run --image=%s: %v\n%s", tc.image, err, stderr)
				}
				defer kubectl(t, "delete", "pod", "test", "-n", "default", "--wait=false")
			} else if err == nil {
				t.Fatalf("kubectl run --image=%s was admitted: %s", tc.image, stdout)
			}
			out := stdout + stderr
			t.Logf("kubectl run test --image=%s -n default:\n%s", tc.image, out)
			if !tc.admitted && !strings.Contains(out, `admission webhook "validate.baseguard.dev" denied the request`) {
				t.Errorf("kubectl does not print baseguard's denial:\n%s", out)
			}
			for _, s := range tc.says {
				if !strings.Contains(out, s) {
					t.Errorf("kubectl output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

// workload builds an object of a pod-bearing kind whose pod spec runs
// image; pod-spec fields the API server requires are filled in.
func workload(kind, name, image string) *unstructured.Unstructured {
	labels := map[string]any{"app": name}
	containers := []any{map[string]any{"name": "app", "image": image}}
	spec := map[string]any{"containers": containers}
	template := map[string]any{"metadata": map[string]any{"labels": labels}, "spec": spec}
	selector := map[string]any{"matchLabels": labels}
	obj := map[string]any{"metadata": map[string]any{"name": name}}
	switch kind {
	case "Pod":
		obj["apiVersion"], obj["spec"] = "v1", spec
	case "PodTemplate":
		obj["apiVersion"], obj["template"] = "v1", template
	case "ReplicationController":
		obj["apiVersion"], obj["spec"] = "v1", map[string]any{"selector": labels, "template": template}
	case "Deployment", "ReplicaSet", "DaemonSet":
		obj["apiVersion"], obj["spec"] = "apps/v1", map[string]any{"selector": selector, "template": template}
	case "StatefulSet":
		obj["apiVersion"], obj["spec"] = "apps/v1", map[string]any{"selector": selector, "template": template, "serviceName": name}
	case "Job":
		spec["restartPolicy"] = "Never"
		obj["apiVersion"], obj["spec"] = "batch/v1", map[string]any{"template": template}
	case "CronJob":
		spec["restartPolicy"] = "Never"
		obj["apiVersion"], obj["spec"] = "batch/v1", map[string]any{"schedule": "*/5 * * * *", "jobTemplate": map[string]any{"spec": map[string]any{"template": template}}}
	}
	obj["kind"] = kind
	return &unstructured.Unstructured{Object: obj}
}

// TestEveryPodBearingKind creates each kind with a deprecated image (denied,
// naming the kind's image field) and with an approved one (admitted).
func TestEveryPodBearingKind(t *testing.T) {
	requireEnv(t)
	ns := namespace(t, "e2e-kinds", nil)
	fields := map[string]string{
		"Pod":                   "spec.containers[0].image",
		"PodTemplate":           "template.spec.containers[0].image",
		"ReplicationController": "spec.template.spec.containers[0].image",
		"Deployment":            "spec.template.spec.containers[0].image",
		"ReplicaSet":            "spec.template.spec.containers[0].image",
		"StatefulSet":           "spec.template.spec.containers[0].image",
		"DaemonSet":             "spec.template.spec.containers[0].image",
		"Job":                   "spec.template.spec.containers[0].image",
		"CronJob":               "spec.jobTemplate.spec.template.spec.containers[0].image",
	}
	ctx := context.Background()
	for kind, field := range fields {
		t.Run(kind, func(t *testing.T) {
			name := strings.ToLower(kind)
			bad := workload(kind, name, deprecated)
			bad.SetNamespace(ns)
			denied(t, cl.Create(ctx, bad), kind+"/"+ns+"/"+name, field, "block-deprecated-base-images")
			good := workload(kind, name, approved)
			good.SetNamespace(ns)
			if err := cl.Create(ctx, good); err != nil {
				t.Errorf("%s with %s: %v", kind, approved, err)
			}
		})
	}
}

// TestInitAndEphemeralContainers covers the other container lists,
// including `kubectl debug`'s pods/ephemeralcontainers subresource.
func TestInitAndEphemeralContainers(t *testing.T) {
	requireEnv(t)
	ns := namespace(t, "e2e-lists", nil)
	ctx := context.Background()
	p := pod("with-init", approved)
	p.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox:1.36"}}
	_, err := clientset.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	denied(t, err, `container "setup"`, "spec.initContainers[0].image", "busybox:1.36")

	target, err := clientset.CoreV1().Pods(ns).Create(ctx, pod("debug-me", approved), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	debug := func(name, image string) error {
		p := target.DeepCopy()
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: name, Image: image, TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullIfNotPresent},
			TargetContainerName:      "app",
		})
		updated, err := clientset.CoreV1().Pods(ns).UpdateEphemeralContainers(ctx, p.Name, p, metav1.UpdateOptions{})
		if err == nil {
			target = updated
		}
		return err
	}
	denied(t, debug("debugger", deprecated), `container "debugger"`, "spec.ephemeralContainers[0].image", "centos:7")
	if err := debug("debugger", "registry.example.com/base/distroless/static:debug"); err != nil {
		t.Errorf("an approved debug image: %v", err)
	}
	// kubectl debug goes the same way.
	_, stderr, err := kubectl(t, "debug", "-n", ns, "debug-me", "--image=ubuntu:18.04", "--target=app", "--attach=false")
	if err == nil || !strings.Contains(stderr, "denied the request") || !strings.Contains(stderr, "ubuntu:18.04") {
		t.Errorf("kubectl debug with ubuntu:18.04: want baseguard's denial, got %v:\n%s", err, stderr)
	}
}

// TestSetImage: an UPDATE is judged on the images it changes.
func TestSetImage(t *testing.T) {
	requireEnv(t)
	ns := namespace(t, "e2e-update", nil)
	ctx := context.Background()
	d := workload("Deployment", "web", approved)
	d.SetNamespace(ns)
	if err := cl.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := kubectl(t, "set", "image", "-n", ns, "deployment/web", "app=centos:7")
	if err == nil || !strings.Contains(stderr, "denied the request") || !strings.Contains(stderr, "spec.template.spec.containers[0].image") {
		t.Errorf("kubectl set image app=centos:7: want denied naming the field, got %v:\n%s", err, stderr)
	}
	patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"centos:7"}]}}}}`)
	denied(t, cl.Patch(ctx, d, client.RawPatch(types.StrategicMergePatchType, patch)), "centos:7")
	if _, stderr, err := kubectl(t, "scale", "-n", ns, "deployment/web", "--replicas=3"); err != nil {
		t.Errorf("scaling an admitted deployment: %v\n%s", err, stderr)
	}
	if _, stderr, err := kubectl(t, "label", "-n", ns, "deployment/web", "tier=frontend"); err != nil {
		t.Errorf("labelling an admitted deployment: %v\n%s", err, stderr)
	}
}

// TestUnchangedImagesPassAfterPolicyChange: an object admitted under an
// earlier policy can still be scaled; a new image in it is judged.
func TestUnchangedImagesPassAfterPolicyChange(t *testing.T) {
	requireEnv(t)
	ns := namespace(t, "e2e-reload", nil)
	ctx := context.Background()
	builtin := string(policy.BuiltinYAML())
	exempt := strings.Replace(builtin, "  action: enforce\n", "  action: enforce\n  match:\n    namespaces: {exclude: [e2e-reload]}\n", 1)
	if exempt == builtin {
		t.Fatal("could not edit the built-in policy")
	}
	setPolicy := func(content string, wantDenied bool) {
		t.Helper()
		if err := hook.writePolicy("builtin.yaml", content); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := createPod(ctx, ns, "probe", deprecated, true)
			if (err != nil) == wantDenied {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("policy change not in force after 10s (last answer: %v)", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	setPolicy(exempt, false)
	defer setPolicy(builtin, true)
	legacy := workload("Deployment", "legacy", deprecated)
	legacy.SetNamespace(ns)
	if err := cl.Create(ctx, legacy); err != nil {
		t.Fatalf("creating a centos deployment while its namespace is exempt: %v", err)
	}
	setPolicy(builtin, true)
	if _, stderr, err := kubectl(t, "scale", "-n", ns, "deployment/legacy", "--replicas=2"); err != nil {
		t.Errorf("scaling a deployment whose image did not change: %v\n%s", err, stderr)
	}
	_, stderr, err := kubectl(t, "set", "image", "-n", ns, "deployment/legacy", "app=debian:12")
	if err == nil || !strings.Contains(stderr, "debian:12") {
		t.Errorf("changing the image to debian:12: want denied, got %v:\n%s", err, stderr)
	}
}

// warnings collects the API server's warning headers.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func TestAuditAndWarnReachTheClient(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	t.Run("warn via client-go", func(t *testing.T) {
		ns := namespace(t, "e2e-warn", nil)
		got := &warnings{}
		c := rest.CopyConfig(cfg)
		c.WarningHandler = got
		cs, err := kubernetes.NewForConfig(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod("alpine", approved), metav1.CreateOptions{}); err != nil {
			t.Fatalf("a warn policy denied: %v", err)
		}
		want := "baseguard warn [prefer-wolfi-warn/prefer-wolfi]: Prefer wolfi bases"
		if len(got.list) != 1 || !strings.HasPrefix(got.list[0], want) {
			t.Errorf("warnings %q, want one starting %q", got.list, want)
		}
	})
	t.Run("audit via kubectl", func(t *testing.T) {
		ns := namespace(t, "e2e-audit", nil)
		_, stderr, err := kubectl(t, "run", "alpine", "-n", ns, "--image="+approved)
		if err != nil {
			t.Fatalf("an audit policy denied: %v\n%s", err, stderr)
		}
		if !strings.Contains(stderr, "Warning: baseguard audit [prefer-wolfi-audit/prefer-wolfi]") {
			t.Errorf("kubectl does not print the audit warning:\n%s", stderr)
		}
	})
}

// TestNamespaceSelector: labels of the namespace, read from the cluster,
// select a stricter tier.
func TestNamespaceSelector(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	ns := namespace(t, "e2e-restricted", map[string]string{"tier": "restricted"})
	denied(t, createPod(ctx, ns, "alpine", approved, false), "restricted-namespaces/wolfi-only")
	if err := createPod(ctx, ns, "wolfi", wolfi, false); err != nil {
		t.Errorf("wolfi in a restricted namespace: %v", err)
	}
	plain := namespace(t, "e2e-plain", nil)
	if err := createPod(ctx, plain, "alpine", approved, false); err != nil {
		t.Errorf("alpine in an unrestricted namespace: %v", err)
	}
}

func servedSerial(t *testing.T) string {
	t.Helper()
	pool, _ := pki.CertPool(hook.ca.CertPEM)
	conn, err := tls.Dial("tcp", hook.addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// TestCertificateRotation rewrites the certificate files with a new leaf
// of the same CA while the API server keeps calling.
func TestCertificateRotation(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	before := servedSerial(t)
	if err := hook.rotate(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for servedSerial(t) == before {
		if time.Now().After(deadline) {
			t.Fatal("the rotated certificate is not served after 10s")
		}
		denied(t, createPod(ctx, "default", "during-rotation", deprecated, true))
		time.Sleep(20 * time.Millisecond)
	}
	for range 10 {
		denied(t, createPod(ctx, "default", "after-rotation", deprecated, true), "centos:7")
		if err := createPod(ctx, "default", "after-rotation", approved, true); err != nil {
			t.Errorf("after rotation: %v", err)
		}
	}
}

// TestWebhookDownFailsClosed stops the server: with failurePolicy Fail the
// API server refuses what it cannot have judged. Then it starts it again.
func TestWebhookDownFailsClosed(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	if err := hook.stop(); err != nil {
		t.Fatalf("stopping the webhook: %v", err)
	}
	err := createPod(ctx, "default", "while-down", approved, false)
	if err == nil || !strings.Contains(err.Error(), `failed calling webhook "validate.baseguard.dev"`) {
		t.Errorf("creating a pod while the webhook is down: want refused (failurePolicy Fail), got %v", err)
	}
	_, stderr, err := kubectl(t, "run", "while-down", "--image="+approved, "-n", "default")
	if err == nil || !strings.Contains(stderr, "failed calling webhook") {
		t.Errorf("kubectl run while the webhook is down: want refused, got %v:\n%s", err, stderr)
	}
	if err := hook.start(); err != nil {
		t.Fatalf("restarting the webhook: %v", err)
	}
	if err := waitForWebhook(); err != nil {
		t.Fatal(err)
	}
}
