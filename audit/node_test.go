package audit

import (
	"testing"

	"github.com/baseguard/baseguard/subject"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestReadObjectAsCheckDoes reads a live object (as the API server sends
// it) with subject.ReadObject: every container list, status and managed
// fields ignored, the pod's credentials.
func TestReadObjectAsCheckDoes(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "p", "namespace": "ns", "uid": "u1", "labels": map[string]any{"app": "x"},
			"managedFields":   []any{map[string]any{"manager": "kubectl"}},
			"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u0", "controller": true}}},
		"spec": map[string]any{
			"serviceAccountName": "builder", "imagePullSecrets": []any{map[string]any{"name": "regcred"}},
			"initContainers":      []any{map[string]any{"name": "i", "image": "busybox:1"}},
			"containers":          []any{map[string]any{"name": "c", "image": "alpine:3.19", "ports": []any{map[string]any{"containerPort": int64(80)}}, "tty": true}},
			"ephemeralContainers": []any{map[string]any{"name": "e", "image": "debug:1"}},
		},
		"status": map[string]any{"phase": "Running", "containerStatuses": []any{map[string]any{"image": "ignored:1"}}},
	}}
	u.Object["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["resources"] = map[string]any{"limits": map[string]any{"cpu": 0.5}}
	o, err := readObject(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range o.subjects {
		got = append(got, string(s.List)+" "+s.Field+" "+s.Image)
	}
	want := []string{
		"initContainers spec.initContainers[0].image busybox:1",
		"containers spec.containers[0].image alpine:3.19",
		"ephemeralContainers spec.ephemeralContainers[0].image debug:1",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("subjects (-want +got):\n%s", d)
	}
	if o.res.Kind != "Pod" || o.res.Labels["app"] != "x" || o.res.File != "" || o.owner == nil || o.owner.Name != "rs" {
		t.Errorf("resource %+v owner %+v", o.res, o.owner)
	}
	if d := cmp.Diff(podCredentials{serviceAccount: "builder", pullSecrets: []string{"regcred"}}, o.creds, cmp.AllowUnexported(podCredentials{})); d != "" {
		t.Errorf("credentials (-want +got):\n%s", d)
	}
	for _, s := range o.subjects {
		if s.Resource != o.res {
			t.Error("a subject's resource is not the object's")
		}
	}
	_ = subject.Containers
}

func TestReadObjectTemplate(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1", "kind": "CronJob", "metadata": map[string]any{"name": "cj", "namespace": "ns"},
		"spec": map[string]any{"jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "r", "image": "centos:7"}}, "imagePullSecrets": []any{map[string]any{"name": "s"}}}}}}},
	}}
	o, err := readObject(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.subjects) != 1 || o.subjects[0].Field != "spec.jobTemplate.spec.template.spec.containers[0].image" || o.creds.serviceAccount != "default" || len(o.creds.pullSecrets) != 1 {
		t.Errorf("subjects %+v creds %+v", o.subjects, o.creds)
	}
}

func TestFinishedJob(t *testing.T) {
	job := func(apiVersion, cond, status string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": "Job",
			"status": map[string]any{"conditions": []any{map[string]any{"type": cond, "status": status}}}}}
	}
	for _, tt := range []struct {
		u    *unstructured.Unstructured
		want bool
	}{
		{job("batch/v1", "Complete", "True"), true},
		{job("batch/v1", "Failed", "True"), true},
		{job("batch/v1", "Complete", "False"), false},
		{job("batch/v1", "Suspended", "True"), false},
		{job("example.com/v1", "Complete", "True"), false},
	} {
		if got := finishedJob(tt.u); got != tt.want {
			t.Errorf("finishedJob(%v) = %v, want %v", tt.u.Object, got, tt.want)
		}
	}
}
