package audit

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAuditServiceAccountPullSecrets resolves a private image with the
// pull secret of the pod's service account; the same image in a pod
// without one cannot be read, and its results are errors naming why.
func TestAuditServiceAccountPullSecrets(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	ns := "accounts"
	if _, err := clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfgJSON, _ := json.Marshal(map[string]any{"auths": map[string]any{world.priv.host: map[string]string{"username": privUser, "password": privPassword}}})
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "builder-regcred"}, Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: cfgJSON}}
	if _, err := clientset.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder"}, ImagePullSecrets: []corev1.LocalObjectReference{{Name: "builder-regcred"}}}
	if _, err := clientset.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	image := world.priv.ref("team/private:1")
	withSA := podSpecOf([]corev1.Container{{Name: "app", Image: image}}, nil)
	withSA.ServiceAccountName = "builder"
	if _, err := createPod(ctx, ns, "via-account", nil, withSA); err != nil {
		t.Fatal(err)
	}
	if _, err := createPod(ctx, ns, "no-secret", nil, podSpecOf([]corev1.Container{{Name: "app", Image: image}}, nil)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteAll(t, ns) })

	out, code := auditJSON(t, "-n", ns)
	if code != 2 {
		t.Errorf("exit status %d, want 2 (an image could not be read)", code)
	}
	for _, r := range out.Results {
		switch r.Resource.Name {
		case "via-account":
			if r.Result != "pass" {
				t.Errorf("via-account: %s %s: %s", r.Rule, r.Result, r.Message)
			}
		case "no-secret":
			if r.Result != "error" || !strings.Contains(strings.ToLower(r.Message), "unauthorized") {
				t.Errorf("no-secret: %s %s: %s", r.Rule, r.Result, r.Message)
			}
		}
	}
	if b := out.Inventory.Bases; len(b) != 1 || b[0].Ref != world.priv.ref("base/wolfi:1") || b[0].Containers != 1 {
		t.Errorf("bases %+v, want the private wolfi under one container", b)
	}
}
