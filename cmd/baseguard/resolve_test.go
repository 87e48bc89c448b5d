package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testRegistry is go-containerregistry's in-memory registry on loopback,
// counting the requests it serves. With a user and password it is private:
// requests without them are refused with 401 and not counted.
type testRegistry struct {
	host           string
	user, password string
	requests       atomic.Int64
}

func newTestRegistry(t *testing.T) *testRegistry { return startRegistry(t, "", "") }

// newPrivateRegistry starts a registry behind HTTP basic auth.
func newPrivateRegistry(t *testing.T) *testRegistry { return startRegistry(t, "puller", "s3cret") }

func startRegistry(t *testing.T, user, password string) *testRegistry {
	t.Helper()
	r := &testRegistry{user: user, password: password}
	h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if u, p, _ := req.BasicAuth(); r.user != "" && (u != r.user || p != r.password) {
			w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		r.requests.Add(1)
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// push writes img to host/ref, with the registry's credentials if any.
func (r *testRegistry) push(t *testing.T, ref string, img v1.Image) v1.Hash {
	t.Helper()
	tag, err := name.NewTag(r.host + "/" + ref)
	if err != nil {
		t.Fatal(err)
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: r.user, Password: r.password})
	if err := remote.Write(tag, img, remote.WithAuth(auth)); err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	d, _ := img.Digest()
	return d
}

// child is an image made of base's layers and one more, annotated with its
// base as ko does.
func child(t *testing.T, base v1.Image, baseName string, baseDigest v1.Hash) v1.Image {
	t.Helper()
	extra, err := random.Layer(512, "application/vnd.oci.image.layer.v1.tar+gzip")
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, extra)
	if err != nil {
		t.Fatal(err)
	}
	return mutate.Annotations(img, map[string]string{
		"org.opencontainers.image.base.name":   baseName,
		"org.opencontainers.image.base.digest": baseDigest.String(),
	}).(v1.Image)
}

// pushChain pushes a random image as refs[0] and, as each further ref, an
// image built on the one before (its base declared as ko declares it), and
// returns the last one's full reference. One ref pushes an image that
// declares no base.
func (r *testRegistry) pushChain(t *testing.T, refs ...string) string {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	digest := r.push(t, refs[0], img)
	for i := 1; i < len(refs); i++ {
		img = child(t, img, r.host+"/"+refs[i-1], digest)
		digest = r.push(t, refs[i], img)
	}
	return r.host + "/" + refs[len(refs)-1]
}

// TestCheckResolve is the second seed document's scenario without
// hand-written annotation checks: rules apply to what images are built on.
func TestCheckResolve(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := newTestRegistry(t)
	reg.pushChain(t, "base/alpine:3.19", "apps/web:1")
	reg.pushChain(t, "base/centos:7", "apps/legacy:1")
	reg.pushChain(t, "apps/bare:1")

	dir := t.TempDir()
	policyFile := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policyFile, []byte(fmt.Sprintf(`apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: bases}
spec:
  rules:
    - name: approved
      allow: ["%[1]s/base/alpine:*"]
    - name: deprecated
      deny: ["*centos*"]
    - name: known-base
      requireBase: true
`, reg.host)), 0o644)
	var pods strings.Builder
	for i := 0; i < 50; i++ { // many pods, three images
		for _, app := range []string{"web", "legacy", "bare"} {
			fmt.Fprintf(&pods, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: %s-%d}\nspec:\n  containers: [{name: app, image: %s/apps/%s:1}]\n", app, i, reg.host, app)
		}
	}
	manifests := filepath.Join(dir, "pods.yaml")
	os.WriteFile(manifests, []byte(pods.String()), 0o644)

	check := func(extra ...string) map[string]string {
		t.Helper()
		out, errOut, _ := run(t, "", append([]string{"check", "--resolve", "-o", "json", "-p", policyFile, manifests}, extra...)...)
		var doc struct {
			Results []struct {
				Rule, Result, Message string
				Resource              struct{ Name string }
				Lineage               []struct{ Ref, Source string }
			}
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v\n%s\n%s", err, out, errOut)
		}
		got := map[string]string{}
		for _, r := range doc.Results {
			if strings.HasSuffix(r.Resource.Name, "-0") {
				got[strings.TrimSuffix(r.Resource.Name, "-0")+"/"+r.Rule] = r.Result
			}
		}
		return got
	}
	want := map[string]string{
		"web/approved": "pass", "web/deprecated": "pass", "web/known-base": "pass",
		"legacy/approved": "fail", "legacy/deprecated": "fail", "legacy/known-base": "pass",
		"bare/approved": "fail", "bare/deprecated": "pass", "bare/known-base": "fail",
	}
	reg.requests.Store(0)
	got := check()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	cold := reg.requests.Load()
	if cold == 0 || cold > 3*12 {
		t.Errorf("cold run over 150 pods of 3 images made %d requests; want a handful per image", cold)
	}
	reg.requests.Store(0)
	check()
	if n := reg.requests.Load(); n != 0 {
		t.Errorf("warm re-run within the tag TTL made %d requests, want 0", n)
	}
	check("--offline")
	if n := reg.requests.Load(); n != 0 {
		t.Errorf("--offline made %d requests", n)
	}
}

// TestCheckResolveDockerfile: the base a FROM line names is resolved, and
// its own base judged.
func TestCheckResolveDockerfile(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := newTestRegistry(t)
	reg.pushChain(t, "base/centos:7", "company/base:1")
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	os.WriteFile(df, []byte("FROM "+reg.host+"/company/base:1\nRUN true\n"), 0o644)
	out, _, code := run(t, "", "check", "--resolve", "-o", "json", df)
	if code != exitFailed {
		t.Errorf("exit %d, want %d (the FROM image is built on centos)", code, exitFailed)
	}
	var doc struct {
		Results []struct {
			Rule, Result string
			Lineage      []struct{ Ref, Source string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range doc.Results {
		if r.Rule != "block-deprecated-base-images" {
			continue
		}
		if r.Result != "fail" || len(r.Lineage) != 2 || r.Lineage[0].Source != "dockerfile" || r.Lineage[1].Source != "annotation" || !strings.HasSuffix(r.Lineage[1].Ref, "/base/centos:7") {
			t.Errorf("deprecated rule: %+v", r)
		}
		return
	}
	t.Errorf("no result for block-deprecated-base-images in %s", out)
}

// TestCheckResolveKyvernoSamples: the second seed document's policies,
// require-base-image and allowed-base-images with the allow list in a
// ConfigMap, judge the bases found in the registry.
func TestCheckResolveKyvernoSamples(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := newTestRegistry(t)
	reg.pushChain(t, "base/distroless:nonroot", "apps/ko:1")
	reg.pushChain(t, "base/busybox:1", "apps/other:1")
	reg.pushChain(t, "apps/bare:1")

	dir := t.TempDir()
	configMap := filepath.Join(dir, "baseimages.yaml")
	os.WriteFile(configMap, []byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: baseimages, namespace: platform}\ndata:\n  allowedbaseimages: '[\"%s/base/distroless:nonroot\"]'\n", reg.host)), 0o644)
	var pods strings.Builder
	for _, app := range []string{"ko", "other", "bare"} {
		fmt.Fprintf(&pods, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers: [{name: app, image: %s/apps/%s:1}]\n", app, reg.host, app)
	}
	manifests := filepath.Join(dir, "pods.yaml")
	os.WriteFile(manifests, []byte(pods.String()), 0o644)

	out, errOut, code := run(t, "", "check", "--resolve", "-o", "json",
		"-p", "examples/policies/require-base-image.yaml", "-p", "examples/policies/allowed-base-images.yaml", "-p", configMap, manifests)
	if code != exitFailed {
		t.Errorf("exit %d, want %d; stderr %s", code, exitFailed, errOut)
	}
	var doc struct {
		Results []struct {
			Policy, Result string
			Resource       struct{ Name string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range doc.Results {
		got[r.Resource.Name+"/"+r.Policy] = r.Result
	}
	want := map[string]string{
		"ko/require-base-image": "pass", "ko/allowed-base-images": "pass",
		"other/require-base-image": "pass", "other/allowed-base-images": "fail",
		"bare/require-base-image": "fail", "bare/allowed-base-images": "fail",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}
