package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestWorkloadCRDAtAdmission: the pod template of a well-known workload CRD
// (an Argo Rollout here) is judged at admission like a Deployment's: the
// shipped webhook configuration sends it, and a denied image in it is
// refused on CREATE and on an UPDATE that brings it in.
func TestWorkloadCRDAtAdmission(t *testing.T) {
	requireEnv(t)
	installRolloutCRD(t)
	ns := namespace(t, "e2e-rollouts", nil)
	ctx := context.Background()
	rollout := func(name, image string) *unstructured.Unstructured {
		labels := map[string]any{"app": name}
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
			"metadata": map[string]any{"name": name, "namespace": ns},
			"spec": map[string]any{
				"selector": map[string]any{"matchLabels": labels},
				"template": map[string]any{
					"metadata": map[string]any{"labels": labels},
					"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": image}}},
				},
			},
		}}
	}
	denied(t, cl.Create(ctx, rollout("bad", deprecated)), "Rollout/"+ns+"/bad", "spec.template.spec.containers[0].image", "block-deprecated-base-images")

	good := rollout("good", approved)
	if err := cl.Create(ctx, good); err != nil {
		t.Fatalf("a Rollout of %s: %v", approved, err)
	}
	patch := []byte(fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":%q}]}}}}`, deprecated))
	denied(t, cl.Patch(ctx, good, client.RawPatch("application/merge-patch+json", patch)), "Rollout/"+ns+"/good", deprecated)
}

// installRolloutCRD installs a minimal argoproj.io Rollout CRD (the
// template is kept as written) and waits until it is served.
func installRolloutCRD(t *testing.T) {
	t.Helper()
	preserve := true
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "rollouts.argoproj.io"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "argoproj.io",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "rollouts", Singular: "rollout", Kind: "Rollout", ListKind: "RolloutList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1alpha1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type:                   "object",
					XPreserveUnknownFields: &preserve,
				}},
			}},
		},
	}
	ctx := context.Background()
	if err := cl.Create(ctx, crd); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("creating the Rollout CRD: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("argoproj.io/v1alpha1")
		list.SetKind("RolloutList")
		err := cl.List(ctx, list)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Rollout CRD is not served after 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
