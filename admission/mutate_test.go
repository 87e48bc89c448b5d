package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
)

// digestResolver resolves every image to a digest of its own, and images
// named in fail to an error.
func digestResolver(fail ...string) Resolver {
	return ResolverFunc(func(_ context.Context, ref imageref.Ref, _ Credentials) lineage.Lineage {
		for _, f := range fail {
			if ref.Written == f {
				return lineage.Lineage{Err: errors.New("registry unavailable"), Entries: lineage.Of(ref, lineage.SourceReference).Entries}
			}
		}
		l := lineage.Of(ref, lineage.SourceReference)
		l.Resolved, l.Digest = true, fakeDigest(ref.Written)
		return l
	})
}

func fakeDigest(s string) string {
	d := "sha256:" + strings.Repeat("0", 64)
	h := []byte(d)
	for i, c := range []byte(s) {
		h[7+(i*7)%64] = "0123456789abcdef"[int(c)%16]
	}
	return string(h)
}

// mutate posts a review of obj (and old, for an UPDATE) to /mutate and
// returns the answer and obj with its patch applied.
func mutate(t *testing.T, ts *httptest.Server, op, kind, resource, subresource string, obj, old any) (*admissionv1.AdmissionResponse, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(obj)
	req := map[string]any{
		"uid": "m-1", "kind": map[string]string{"group": "", "version": "v1", "kind": kind},
		"resource":  map[string]string{"group": "", "version": "v1", "resource": resource},
		"namespace": "default", "name": "x", "operation": op, "object": json.RawMessage(raw),
		"userInfo": map[string]any{"username": "dev"},
	}
	if subresource != "" {
		req["subResource"] = subresource
	}
	if old != nil {
		oldRaw, _ := json.Marshal(old)
		req["oldObject"] = json.RawMessage(oldRaw)
	}
	body, _ := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
	resp, err := ts.Client().Post(ts.URL+PathMutate+"?timeout=5s", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	var rv admissionv1.AdmissionReview
	if err := json.Unmarshal(out, &rv); err != nil || rv.Response == nil {
		t.Fatalf("decoding %s: %v", out, err)
	}
	r := rv.Response
	if !r.Allowed || r.UID != "m-1" {
		t.Fatalf("/mutate must allow and echo the UID: %s", out)
	}
	patched := raw
	if r.Patch != nil {
		if r.PatchType == nil || *r.PatchType != admissionv1.PatchTypeJSONPatch {
			t.Fatalf("patch type %v", r.PatchType)
		}
		p, err := jsonpatch.DecodePatch(r.Patch)
		if err != nil {
			t.Fatalf("decoding the patch: %v\n%s", err, r.Patch)
		}
		if patched, err = p.Apply(raw); err != nil {
			t.Fatalf("applying the patch: %v\n%s", err, r.Patch)
		}
		var ops []jsonPatchOp
		json.Unmarshal(r.Patch, &ops)
		for _, o := range ops {
			if !strings.HasSuffix(o.Path, "/image") && !strings.HasSuffix(o.Path, "/reference") {
				t.Errorf("the patch touches %s, not an image field", o.Path)
			}
		}
	}
	var got map[string]any
	json.Unmarshal(patched, &got)
	return r, got
}

// images lists the image fields of a pod spec found at path.
func images(obj map[string]any, path ...string) map[string][]string {
	var spec any = obj
	for _, p := range path {
		spec = spec.(map[string]any)[p]
	}
	out := map[string][]string{}
	for _, list := range []string{"initContainers", "containers", "ephemeralContainers"} {
		cs, _ := spec.(map[string]any)[list].([]any)
		for _, c := range cs {
			out[list] = append(out[list], c.(map[string]any)["image"].(string))
		}
	}
	return out
}

func testPodSpec(containers, inits []string) map[string]any {
	list := func(imgs []string) []any {
		var out []any
		for i, img := range imgs {
			out = append(out, map[string]any{"name": "c" + string(rune('0'+i)), "image": img})
		}
		return out
	}
	spec := map[string]any{"containers": list(containers)}
	if inits != nil {
		spec["initContainers"] = list(inits)
	}
	return spec
}

func TestMutatePinsJudgedImages(t *testing.T) {
	_, ts := newTestServer(t, Options{Resolver: digestResolver("registry.example.com/down:1")})
	pinnedAlready := "registry.example.com/base/alpine:3.19@sha256:" + strings.Repeat("a", 64)
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "web"},
		"spec": testPodSpec([]string{"registry.example.com/app:1.4", pinnedAlready, "nginx", "registry.example.com/down:1"}, []string{"registry.example.com/app:1.4"})}
	resp, got := mutate(t, ts, "CREATE", "Pod", "pods", "", pod, nil)
	want := map[string][]string{
		"containers": {
			"registry.example.com/app:1.4@" + fakeDigest("registry.example.com/app:1.4"),
			pinnedAlready,
			"nginx:latest@" + fakeDigest("nginx"),
			"registry.example.com/down:1",
		},
		"initContainers": {"registry.example.com/app:1.4@" + fakeDigest("registry.example.com/app:1.4")},
	}
	if diff := cmp.Diff(want, images(got, "spec")); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}
	if len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "registry.example.com/down:1 not pinned to a digest: registry unavailable") {
		t.Errorf("warnings: %q", resp.Warnings)
	}
	if diff := cmp.Diff(pod["metadata"], got["metadata"]); diff != "" {
		t.Errorf("metadata changed: %s", diff)
	}
}

func TestMutateEveryPodBearingKind(t *testing.T) {
	_, ts := newTestServer(t, Options{Resolver: digestResolver()})
	img := "registry.example.com/app:2"
	want := "registry.example.com/app:2@" + fakeDigest(img)
	template := map[string]any{"metadata": map[string]any{"labels": map[string]string{"app": "x"}}, "spec": testPodSpec([]string{img}, []string{img})}
	cases := []struct {
		kind, resource string
		obj            map[string]any
		path           []string
	}{
		{"Deployment", "deployments", map[string]any{"spec": map[string]any{"template": template}}, []string{"spec", "template", "spec"}},
		{"StatefulSet", "statefulsets", map[string]any{"spec": map[string]any{"template": template}}, []string{"spec", "template", "spec"}},
		{"DaemonSet", "daemonsets", map[string]any{"spec": map[string]any{"template": template}}, []string{"spec", "template", "spec"}},
		{"ReplicaSet", "replicasets", map[string]any{"spec": map[string]any{"template": template}}, []string{"spec", "template", "spec"}},
		{"Job", "jobs", map[string]any{"spec": map[string]any{"template": template}}, []string{"spec", "template", "spec"}},
		{"CronJob", "cronjobs", map[string]any{"spec": map[string]any{"jobTemplate": map[string]any{"spec": map[string]any{"template": template}}}}, []string{"spec", "jobTemplate", "spec", "template", "spec"}},
		{"ReplicationController", "replicationcontrollers", map[string]any{"spec": map[string]any{"template": template}}, []string{"spec", "template", "spec"}},
		{"PodTemplate", "podtemplates", map[string]any{"template": template}, []string{"template", "spec"}},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			c.obj["kind"], c.obj["metadata"] = c.kind, map[string]any{"name": "x"}
			_, got := mutate(t, ts, "CREATE", c.kind, c.resource, "", c.obj, nil)
			if diff := cmp.Diff(map[string][]string{"containers": {want}, "initContainers": {want}}, images(got, c.path...)); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMutateUpdate: an UPDATE pins the images it adds or changes and
// leaves the others alone (a label change must not roll a Deployment).
func TestMutateUpdate(t *testing.T) {
	_, ts := newTestServer(t, Options{Resolver: digestResolver()})
	old := map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "p"}, "spec": testPodSpec([]string{"registry.example.com/a:1", "registry.example.com/b:1"}, nil)}
	unchanged := map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "p", "labels": map[string]string{"new": "label"}}, "spec": testPodSpec([]string{"registry.example.com/a:1", "registry.example.com/b:1"}, nil)}
	resp, _ := mutate(t, ts, "UPDATE", "Pod", "pods", "", unchanged, old)
	if resp.Patch != nil {
		t.Errorf("an update that changes no image was patched: %s", resp.Patch)
	}
	changed := map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "p"}, "spec": testPodSpec([]string{"registry.example.com/a:1", "registry.example.com/b:2"}, nil)}
	_, got := mutate(t, ts, "UPDATE", "Pod", "pods", "", changed, old)
	want := []string{"registry.example.com/a:1", "registry.example.com/b:2@" + fakeDigest("registry.example.com/b:2")}
	if diff := cmp.Diff(want, images(got, "spec")["containers"]); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}

	// kubectl debug: the ephemeral container it adds is pinned.
	withDebug := map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "p"}, "spec": testPodSpec([]string{"registry.example.com/a:1", "registry.example.com/b:1"}, nil)}
	withDebug["spec"].(map[string]any)["ephemeralContainers"] = []any{map[string]any{"name": "debugger", "image": "busybox:1.36"}}
	_, got = mutate(t, ts, "UPDATE", "Pod", "pods", "ephemeralcontainers", withDebug, old)
	if diff := cmp.Diff([]string{"busybox:1.36@" + fakeDigest("busybox:1.36")}, images(got, "spec")["ephemeralContainers"]); diff != "" {
		t.Errorf("ephemeral containers (-want +got):\n%s", diff)
	}
}

// TestMutateLeavesOthersAlone: offline, other operations, other kinds and
// unreadable objects are allowed without a patch.
func TestMutateLeavesOthersAlone(t *testing.T) {
	_, offline := newTestServer(t, Options{})
	pod := map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "p"}, "spec": testPodSpec([]string{"registry.example.com/a:1"}, nil)}
	if resp, _ := mutate(t, offline, "CREATE", "Pod", "pods", "", pod, nil); resp.Patch != nil {
		t.Errorf("offline, an image was pinned: %s", resp.Patch)
	}
	_, ts := newTestServer(t, Options{Resolver: digestResolver()})
	cm := map[string]any{"kind": "ConfigMap", "metadata": map[string]any{"name": "c"}, "data": map[string]string{"image": "x:1"}}
	if resp, _ := mutate(t, ts, "CREATE", "ConfigMap", "configmaps", "", cm, nil); resp.Patch != nil {
		t.Errorf("a ConfigMap was patched: %s", resp.Patch)
	}
	if resp, _ := mutate(t, ts, "DELETE", "Pod", "pods", "", pod, nil); resp.Patch != nil {
		t.Errorf("a DELETE was patched: %s", resp.Patch)
	}
	if resp, _ := mutate(t, ts, "UPDATE", "Pod", "pods", "status", pod, pod); resp.Patch != nil {
		t.Errorf("a status update was patched: %s", resp.Patch)
	}
	bad := map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "p"}, "spec": map[string]any{"containers": "nope"}}
	if resp, _ := mutate(t, ts, "CREATE", "Pod", "pods", "", bad, nil); resp.Patch != nil {
		t.Errorf("an unreadable object was patched: %s", resp.Patch)
	}
}

func TestPointer(t *testing.T) {
	for field, want := range map[string]string{
		"spec.containers[0].image":                                     "/spec/containers/0/image",
		"spec.jobTemplate.spec.template.spec.initContainers[12].image": "/spec/jobTemplate/spec/template/spec/initContainers/12/image",
		"spec.volumes[3].image.reference":                              "/spec/volumes/3/image/reference",
		"spec.a~b/c[1].image":                                          "/spec/a~0b~1c/1/image",
	} {
		got, err := pointer(field)
		if err != nil || got != want {
			t.Errorf("pointer(%q) = %q, %v; want %q", field, got, err, want)
		}
	}
	for _, bad := range []string{"spec..image", "spec.containers[x].image", "spec.containers[-1].image", "spec.containers[0]x.image", ""} {
		if got, err := pointer(bad); err == nil {
			t.Errorf("pointer(%q) = %q, want an error", bad, got)
		}
	}
}
