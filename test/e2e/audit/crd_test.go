package audit

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

var rolloutsGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}

// rolloutCRD is a minimal Argo Rollouts CRD: the kind and where it keeps
// its pod template are what matter.
func rolloutCRD() *apiextensionsv1.CustomResourceDefinition {
	preserve := true
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "rollouts.argoproj.io"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "argoproj.io", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "rollouts", Singular: "rollout", Kind: "Rollout", ListKind: "RolloutList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1alpha1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}}}},
		},
	}
}

func createRollout(t *testing.T, ns, name string, replicas int64, image string) types.UID {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{"replicas": replicas, "template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "app", "image": image}}}}},
	}}
	got, err := dyn.Resource(rolloutsGVR).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating Rollout %s: %v", name, err)
	}
	return got.GetUID()
}

// TestAuditWorkloadCRDsAndImageVolumes audits an Argo Rollout, whose
// ReplicaSet's pods are the Rollout's, one scaled to zero (judged on its
// template), and a pod that mounts an image volume: the volume's image is
// judged, and is not a container.
func TestAuditWorkloadCRDsAndImageVolumes(t *testing.T) {
	requireEnv(t)
	if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{CRDs: []*apiextensionsv1.CustomResourceDefinition{rolloutCRD()}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ns := "rollouts"
	if _, err := clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	api, legacy := world.pub.ref("team/api:1"), world.pub.ref("team/legacy:1")
	uid := createRollout(t, ns, "canary", 2, api)
	createRollout(t, ns, "parked", 0, legacy)
	spec := podSpecOf([]corev1.Container{{Name: "app", Image: api}}, nil)
	rsObj, err := clientset.AppsV1().ReplicaSets(ns).Create(ctx, replicaSetOf(ns, "canary-1", owner("argoproj.io/v1alpha1", "Rollout", "canary", uid), spec), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"canary-1-a", "canary-1-b"} {
		if _, err := createPod(ctx, ns, p, owner("apps/v1", "ReplicaSet", rsObj.Name, rsObj.UID), spec); err != nil {
			t.Fatal(err)
		}
	}
	mounts := podSpecOf([]corev1.Container{{Name: "app", Image: world.pub.ref("team/web:1"), VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}}, nil)
	mounts.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: legacy}}}}
	if _, err := createPod(ctx, ns, "mounts", nil, mounts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteAll(t, ns) })

	out, code := auditJSON(t, "-n", ns)
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	type seen struct {
		APIVersion, Workload, Container, Image string
		Pods                                   int
	}
	var got []seen
	for _, r := range out.Results {
		s := seen{r.Resource.APIVersion, r.Resource.Kind + "/" + r.Resource.Name, r.Container, r.Image, *r.Resource.Pods}
		if !slices.Contains(got, s) {
			got = append(got, s)
		}
	}
	want := []seen{
		{"v1", "Pod/mounts", "app", world.pub.ref("team/web:1"), 1},
		{"v1", "Pod/mounts", "data", legacy, 1},
		{"argoproj.io/v1alpha1", "Rollout/canary", "app", api, 2},
		{"argoproj.io/v1alpha1", "Rollout/parked", "app", legacy, 0},
	}
	slices.SortFunc(want, func(a, b seen) int { return compare(a.Workload+a.Container, b.Workload+b.Container) })
	slices.SortFunc(got, func(a, b seen) int { return compare(a.Workload+a.Container, b.Workload+b.Container) })
	if !slices.Equal(want, got) {
		t.Errorf("subjects judged:\n got %+v\nwant %+v", got, want)
	}
	inv := out.Inventory
	// Containers: canary 2, mounts 1 (the image volume is no container);
	// compliant workloads: canary only (parked runs centos, mounts mounts it).
	if inv.Containers != 3 || inv.Compliant != 3 || inv.Workloads != 3 || inv.CompliantWorkloads != 1 {
		t.Errorf("inventory %+v", inv)
	}
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// deleteAll deletes the test's pods, ReplicaSets and Rollouts in ns, so
// that audits of every namespace count only the shared fixture.
func deleteAll(t *testing.T, ns string) {
	ctx := context.Background()
	zero := int64(0)
	all := metav1.ListOptions{}
	if err := clientset.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, all); err != nil {
		t.Error(err)
	}
	if err := clientset.AppsV1().ReplicaSets(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, all); err != nil {
		t.Error(err)
	}
	if err := dyn.Resource(rolloutsGVR).Namespace(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, all); err != nil && !apierrors.IsNotFound(err) {
		t.Error(err)
	}
}
