package main

import (
	"context"
	"fmt"

	ggcrname "github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// pushImages pushes bases and images built on them (declared by OCI
// annotations, verified by layers) and returns the images' references.
func pushImages(r *countingRegistry, images, bases int) ([]string, error) {
	type base struct {
		img v1.Image
		ref string
	}
	bs := make([]base, bases)
	for i := range bs {
		img, err := random.Image(128, 1)
		if err != nil {
			return nil, err
		}
		bs[i] = base{img, fmt.Sprintf("%s/base/os%d:1", r.host, i)}
		if err := push(bs[i].ref, img); err != nil {
			return nil, err
		}
	}
	refs := make([]string, images)
	err := parallel(images, 8, func(i int) error {
		b := bs[i%bases]
		layer, err := random.Layer(128, "application/vnd.oci.image.layer.v1.tar")
		if err != nil {
			return err
		}
		img, err := mutate.AppendLayers(b.img, layer)
		if err != nil {
			return err
		}
		d, _ := b.img.Digest()
		img = mutate.Annotations(img, map[string]string{
			"org.opencontainers.image.base.name": b.ref, "org.opencontainers.image.base.digest": d.String(),
		}).(v1.Image)
		refs[i] = fmt.Sprintf("%s/apps/app%d:1", r.host, i)
		return push(refs[i], img)
	})
	return refs, err
}

func push(ref string, img v1.Image) error {
	r, err := ggcrname.ParseReference(ref)
	if err != nil {
		return err
	}
	return remote.Write(r, img)
}

// populate creates the namespaces, then Deployments, their ReplicaSets and
// Pods with ownerReferences, as the controllers would.
func populate(ctx context.Context, kube kubernetes.Interface, refs []string, pods, perWorkload, namespaces int) error {
	for i := 0; i < namespaces; i++ {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("team-%d", i), Labels: map[string]string{"team": fmt.Sprint(i)}}}
		if _, err := kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	workloads := pods / perWorkload
	return parallel(workloads, 16, func(i int) error {
		ns, name := fmt.Sprintf("team-%d", i%namespaces), fmt.Sprintf("app-%d", i)
		spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: refs[i%len(refs)]}}}
		labels := map[string]string{"app": name}
		sel := &metav1.LabelSelector{MatchLabels: labels}
		n := int32(perWorkload)
		tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}
		d, err := kube.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: sel, Template: tmpl}}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		rs, err := kube.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name + "-1", OwnerReferences: ownedBy("apps/v1", "Deployment", d.ObjectMeta)},
			Spec:       appsv1.ReplicaSetSpec{Replicas: &n, Selector: sel, Template: tmpl},
		}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		for p := 0; p < perWorkload; p++ {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-1-%d", name, p), Labels: labels, OwnerReferences: ownedBy("apps/v1", "ReplicaSet", rs.ObjectMeta)}, Spec: spec}
			if _, err := kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				return err
			}
		}
		return nil
	})
}

func ownedBy(apiVersion, kind string, m metav1.ObjectMeta) []metav1.OwnerReference {
	yes := true
	return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: m.Name, UID: m.UID, Controller: &yes, BlockOwnerDeletion: &yes}}
}
