package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestImageVolumesAtAdmission: an image mounted as a volume
// (spec.volumes[].image.reference) is pulled by the kubelet like a
// container's, so a denied image there is refused, naming the volume's
// field, in a Pod and in a workload's template; an approved one is admitted.
func TestImageVolumesAtAdmission(t *testing.T) {
	requireEnv(t)
	ns := namespace(t, "e2e-image-volumes", nil)
	ctx := context.Background()
	withVolume := func(name, image string) *corev1.Pod {
		p := pod(name, approved)
		p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: image, PullPolicy: corev1.PullIfNotPresent}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		return p
	}
	_, err := clientset.CoreV1().Pods(ns).Create(ctx, withVolume("bad-volume", deprecated), metav1.CreateOptions{})
	denied(t, err, "spec.volumes[0].image.reference", deprecated, "block-deprecated-base-images")
	if _, err := clientset.CoreV1().Pods(ns).Create(ctx, withVolume("good-volume", approved), metav1.CreateOptions{}); err != nil {
		t.Errorf("a pod mounting the approved %s: %v", approved, err)
	}

	d := workload("Deployment", "bad-volume", approved)
	d.SetNamespace(ns)
	template := d.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	template["volumes"] = []any{map[string]any{"name": "data", "image": map[string]any{"reference": deprecated}}}
	denied(t, cl.Create(ctx, d), "spec.template.spec.volumes[0].image.reference", deprecated)
}

// TestTagBesideDigestAtAdmission: the runtime pulls the digest of
// `repo:tag@sha256:...`, so `serve --resolve` lets the tag count only when
// the registry confirms it names that digest. An image whose tag is allowed
// but whose digest is another image's is refused, saying tag and digest
// disagree; the same tag with its own digest is admitted.
func TestTagBesideDigestAtAdmission(t *testing.T) {
	requireEnv(t)
	host := publicRegistry(t)
	push := func(ref string) string {
		t.Helper()
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		tag := mustTag(t, ref)
		if err := remote.Write(tag, img); err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	good := push(host + "/apps/payments:1.4")
	other := push(host + "/apps/payments:debug") // in the same repository, not what 1.4 names

	dir := t.TempDir()
	policyFile := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policyFile, fmt.Appendf(nil, `apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: released-apps}
spec:
  rules:
    - name: released-tags-only
      scope: image
      allow: ["%s/apps/payments:1.*"]
`, host), 0o644)
	addr := startServeWithPolicy(t, policyFile, "--resolve", "--no-namespace-labels")
	pass := host + "/apps/payments:1.4@" + good
	fail := host + "/apps/payments:1.4@" + other
	registerChartWebhooks(t, addr, host+"/apps/payments:1.4", fail)

	ctx := context.Background()
	pods := clientset.CoreV1().Pods(trustNamespace)
	_, err := pods.Create(ctx, trustPod("tag-beside-digest", fail), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	denied(t, err, "released-tags-only", "@"+other)
	if err != nil && !strings.Contains(strings.ToLower(err.Error()), "disagree") {
		t.Errorf("the denial does not say tag and digest disagree:\n%v", err)
	}
	if _, err := pods.Create(ctx, trustPod("tag-with-its-digest", pass), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("%s, its tag confirmed by the registry: %v", pass, err)
	}
}
