package e2e

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/policy/crd"
	"github.com/baseguard/baseguard/render"
	"github.com/baseguard/baseguard/trust/trusttest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// trustNamespace is where the trust tests create objects: the shared
// webhook does not judge it, the configurations registered here judge
// only it.
const trustNamespace = "kube-system"

// TestTrustAtAdmission runs `baseguard serve --resolve` with signedBy and
// vulnerabilities rules behind the chart's MutatingWebhookConfiguration
// and ValidatingWebhookConfiguration on the real API server: an unsigned
// base is refused, a signed base with a fresh clean scan is admitted, one
// with a critical finding is refused unless excepted until a later date,
// and what the API server stores is pinned to the digests judged.
func TestTrustAtAdmission(t *testing.T) {
	requireEnv(t)
	host := publicRegistry(t)
	platform, scanner := newTestKey(t, "ecdsa"), newTestKey(t, "rsa")
	apps := map[string]string{}
	for _, b := range []struct {
		name     string
		signed   bool
		findings []string
	}{
		{"clean", true, []string{"CVE-2025-1000=LOW"}},
		{"unsigned", false, []string{}},
		{"critical", true, []string{"CVE-2026-0001=CRITICAL"}},
		{"excepted", true, []string{"CVE-2026-7777=CRITICAL"}},
	} {
		apps[b.name] = pushTrustedApp(t, host, b.name, platform, scanner, b.signed, b.findings)
	}

	policyFile, err := trusttest.WritePolicyDir(t.TempDir(), trusttest.TrustedBasesPolicy(host, "maxScanAge: 7d",
		`ignore:
  - {id: CVE-2026-7777, expires: "2099-01-31", reason: "not reachable from the app"}`), platform, scanner)
	if err != nil {
		t.Fatal(err)
	}
	addr := startServeWithPolicy(t, policyFile, "--resolve", "--no-namespace-labels")
	registerChartWebhooks(t, addr, apps["clean"], apps["unsigned"])

	ctx := context.Background()
	deployments := clientset.AppsV1().Deployments(trustNamespace)

	t.Run("a signed base with a fresh clean scan is admitted, pinned to the digest judged", func(t *testing.T) {
		d := deployment("clean", apps["clean"], apps["clean"])
		created, err := deployments.Create(ctx, d, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		t.Cleanup(func() { deployments.Delete(ctx, "clean", metav1.DeleteOptions{}) })
		want := apps["clean"] + "@" + digestOf(t, apps["clean"])
		stored, err := deployments.Get(ctx, created.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		spec := stored.Spec.Template.Spec
		if got := []string{spec.InitContainers[0].Image, spec.Containers[0].Image}; !cmp.Equal(got, []string{want, want}) {
			t.Errorf("stored images %q, want both %q", got, want)
		}
	})

	t.Run("an unsigned base is refused, judged at its pinned digest", func(t *testing.T) {
		_, err := clientset.CoreV1().Pods(trustNamespace).Create(ctx, trustPod("unsigned", apps["unsigned"]), metav1.CreateOptions{})
		denied(t, err, "[trusted-bases/signed-bases]", "/base/unsigned:1", "is not signed: no signature found", apps["unsigned"]+"@sha256:")
	})

	t.Run("a critical finding is refused", func(t *testing.T) {
		_, err := clientset.CoreV1().Pods(trustNamespace).Create(ctx, trustPod("critical", apps["critical"]), metav1.CreateOptions{})
		denied(t, err, "[trusted-bases/scanned-bases]", "CVE-2026-0001 (critical)")
	})

	t.Run("a critical finding excepted until a later date is admitted", func(t *testing.T) {
		p, err := clientset.CoreV1().Pods(trustNamespace).Create(ctx, trustPod("excepted", apps["excepted"]), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		t.Cleanup(func() { clientset.CoreV1().Pods(trustNamespace).Delete(ctx, p.Name, metav1.DeleteOptions{}) })
		if want := apps["excepted"] + "@" + digestOf(t, apps["excepted"]); p.Spec.Containers[0].Image != want {
			t.Errorf("stored image %q, want %q", p.Spec.Containers[0].Image, want)
		}
	})

	t.Run("an image already pinned is left alone", func(t *testing.T) {
		ref := apps["clean"] + "@" + digestOf(t, apps["clean"])
		p, err := clientset.CoreV1().Pods(trustNamespace).Create(ctx, trustPod("pinned", ref), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		t.Cleanup(func() { clientset.CoreV1().Pods(trustNamespace).Delete(ctx, p.Name, metav1.DeleteOptions{}) })
		if p.Spec.Containers[0].Image != ref {
			t.Errorf("stored image %q, want it unchanged %q", p.Spec.Containers[0].Image, ref)
		}
	})
}

// publicRegistry serves ggcr's in-memory registry on loopback.
func publicRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func newTestKey(t *testing.T, kind string) trusttest.Key {
	t.Helper()
	k, err := trusttest.NewKey(kind)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// pushTrustedApp pushes base/<name>:1, signed by platform when signed and
// with a Trivy scan attested by scanner (finished an hour ago, findings as
// ID=SEVERITY), and apps/<name>:1 built on it; it returns the app.
func pushTrustedApp(t *testing.T, host, name string, platform, scanner trusttest.Key, signed bool, findings []string) string {
	t.Helper()
	base, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	baseRef := mustTag(t, host+"/base/"+name+":1")
	if err := remote.Write(baseRef, base); err != nil {
		t.Fatal(err)
	}
	d, _ := base.Digest()
	if signed {
		if err := trusttest.SignTagWith(baseRef.Context(), d, platform); err != nil {
			t.Fatal(err)
		}
	}
	pred := trusttest.TrivyScan(name, time.Now().Add(-time.Hour).UTC(), findings...)
	b, err := trusttest.Bundle(scanner, trusttest.Statement(trusttest.PredicateVuln, pred, d))
	if err != nil {
		t.Fatal(err)
	}
	if err := trusttest.AttachBundle(baseRef.Context(), d, b, trusttest.PredicateVuln); err != nil {
		t.Fatal(err)
	}
	layer, err := random.Layer(256, "application/vnd.oci.image.layer.v1.tar")
	if err != nil {
		t.Fatal(err)
	}
	app, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	app = mutate.Annotations(app, map[string]string{
		"org.opencontainers.image.base.name":   host + "/base/" + name + ":1",
		"org.opencontainers.image.base.digest": d.String(),
	}).(v1.Image)
	appRef := mustTag(t, host+"/apps/"+name+":1")
	if err := remote.Write(appRef, app); err != nil {
		t.Fatal(err)
	}
	return host + "/apps/" + name + ":1"
}

func mustTag(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

// digestOf is the digest a tag names now.
func digestOf(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r)
	if err != nil {
		t.Fatal(err)
	}
	return d.Digest.String()
}

func trustPod(name, image string) *corev1.Pod {
	p := pod(name, image)
	p.Namespace = trustNamespace
	return p
}

func deployment(name, image, initImage string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "init", Image: initImage}},
					Containers:     []corev1.Container{{Name: "app", Image: image}},
				},
			},
		},
	}
}

// registerChartWebhooks renders the chart with server.resolve, registers
// its MutatingWebhookConfiguration and ValidatingWebhookConfiguration
// pointed at addr for trustNamespace only, and waits until both apply:
// a dry run of pass is pinned, one of fail denied.
func registerChartWebhooks(t *testing.T, addr, pass, fail string) {
	t.Helper()
	values := filepath.Join(t.TempDir(), "values.yaml")
	os.WriteFile(values, []byte("server: {resolve: true}\ntls: {caBundle: Cg==}\n"), 0o644)
	ms, err := render.Chart(filepath.Join(repoRoot, "charts", "baseguard"), render.ChartOptions{ValuesFiles: []string{values}, KubeVersion: "1.37.2"})
	if err != nil {
		t.Fatal(err)
	}
	var mwc admissionregistrationv1.MutatingWebhookConfiguration
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	for _, m := range ms {
		for _, doc := range strings.Split(string(m.Data), "\n---\n") {
			switch {
			case strings.Contains(doc, "kind: MutatingWebhookConfiguration"):
				if err := yaml.UnmarshalStrict([]byte(doc), &mwc); err != nil {
					t.Fatal(err)
				}
			case strings.Contains(doc, "kind: ValidatingWebhookConfiguration"):
				if err := yaml.UnmarshalStrict([]byte(doc), &vwc); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if len(mwc.Webhooks) != 1 || len(vwc.Webhooks) != 1 {
		t.Fatalf("the chart with server.resolve renders %d mutating and %d validating webhooks, want 1 and 1", len(mwc.Webhooks), len(vwc.Webhooks))
	}
	if diff := cmp.Diff(vwc.Webhooks[0].Rules, mwc.Webhooks[0].Rules); diff != "" {
		t.Errorf("the mutating webhook's rules differ from the validating one's (-validating +mutating):\n%s", diff)
	}
	only := &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": trustNamespace}}
	mutateURL, validateURL := "https://"+addr+admission.PathMutate, "https://"+addr+admission.PathValidate
	mwc.Name, vwc.Name = "baseguard-e2e-trust", "baseguard-e2e-trust"
	mwc.Webhooks[0].NamespaceSelector, vwc.Webhooks[0].NamespaceSelector = only, only
	mwc.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &mutateURL, CABundle: hook.ca.CertPEM}
	vwc.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &validateURL, CABundle: hook.ca.CertPEM}
	ctx := context.Background()
	api := clientset.AdmissionregistrationV1()
	if _, err := api.MutatingWebhookConfigurations().Create(ctx, &mwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.MutatingWebhookConfigurations().Delete(ctx, mwc.Name, metav1.DeleteOptions{}) })
	if _, err := api.ValidatingWebhookConfigurations().Create(ctx, &vwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.ValidatingWebhookConfigurations().Delete(ctx, vwc.Name, metav1.DeleteOptions{}) })
	// Both take effect asynchronously.
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err := clientset.CoreV1().Pods(trustNamespace).Create(ctx, trustPod("probe", pass), dryRun)
		pinned := err == nil && p.Spec.Containers[0].Image != pass
		_, err = clientset.CoreV1().Pods(trustNamespace).Create(ctx, trustPod("probe", fail), dryRun)
		if pinned && err != nil && strings.Contains(err.Error(), "validate.baseguard.dev") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhooks did not take effect within 30s: pinned %v, %v", pinned, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTrustPolicyObjectAtAdmission: a BaseImagePolicy object applied with
// kubectl, its key written inline, puts a signedBy rule in force for
// `baseguard serve --resolve --policy-objects` on the real API server: an
// unsigned base is refused, a signed one admitted.
func TestTrustPolicyObjectAtAdmission(t *testing.T) {
	requireEnv(t)
	host := publicRegistry(t)
	platform, scanner := newTestKey(t, "ecdsa"), newTestKey(t, "rsa")
	signed := pushTrustedApp(t, host, "object-signed", platform, scanner, true, nil)
	unsigned := pushTrustedApp(t, host, "object-unsigned", platform, scanner, false, nil)

	const name = "e2e-signed-bases"
	t.Cleanup(func() { deleteObject(t, crd.BaseImagePolicies, name) })
	var key strings.Builder
	for line := range strings.SplitSeq(strings.TrimSpace(string(platform.PEM)), "\n") {
		key.WriteString("            " + line + "\n")
	}
	object := fmt.Sprintf(`apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: %s}
spec:
  rules:
    - name: signed-bases
      when: ["%s/base/*"]
      signedBy:
        keys:
          - |
%s`, name, host, key.String())
	if _, stderr, err := apply(t, "signed-bases.yaml", object); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, stderr)
	}
	// The file's policy judges nothing here: what is in force comes from
	// the object.
	file := writePolicyFile(t, "apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata: {name: elsewhere}\nspec:\n  rules:\n    - {name: no-centos, deny: [\"centos:*\"], message: not here}\n")
	addr := startServeWithPolicy(t, file, "--resolve", "--no-namespace-labels", "--policy-objects", "--kubeconfig", kubeconfig)
	// Returns once the signed app is pinned and the unsigned one refused.
	registerChartWebhooks(t, addr, signed, unsigned)

	ctx := context.Background()
	pods := clientset.CoreV1().Pods(trustNamespace)
	_, err := pods.Create(ctx, trustPod("object-unsigned", unsigned), metav1.CreateOptions{})
	denied(t, err, "["+name+"/signed-bases]", "/base/object-unsigned:1", "is not signed")
	p, err := pods.Create(ctx, trustPod("object-signed", signed), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a base signed by the object's inline key was refused: %v", err)
	}
	t.Cleanup(func() { pods.Delete(ctx, p.Name, metav1.DeleteOptions{}) })
}
