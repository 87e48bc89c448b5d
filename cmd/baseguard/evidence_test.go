package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestCheckJudgesWhatRuns: with --resolve, a tag written beside a digest
// counts only when the registry confirms it, and a base an image merely
// claims satisfies no allow rule; offline, the tag is taken as written and
// the output says it was not verified.
func TestCheckJudgesWhatRuns(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := newTestRegistry(t)
	good := reg.pushChain(t, "base/alpine:3.19", "apps/payments:1.4")
	evil, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	evilDigest := reg.push(t, "apps/payments:evil", evil)
	alpine, _ := random.Image(1024, 2)
	alpineDigest := reg.push(t, "base/alpine:3.19", alpine)
	// Claims alpine as its base, but is built on something else.
	other, _ := random.Image(1024, 2)
	reg.push(t, "apps/forged:1", child(t, other, reg.host+"/base/alpine:3.19", alpineDigest))
	desc, err := remote.Head(must(name.NewTag(good)))
	if err != nil {
		t.Fatal(err)
	}
	goodDigest := desc.Digest

	dir := t.TempDir()
	policyFile := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policyFile, []byte(fmt.Sprintf(`apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: what-runs}
spec:
  rules:
    - name: payments-1.4
      when: ["%[1]s/apps/payments*"]
      allow: ["%[1]s/apps/payments:1.4*"]
    - name: on-alpine
      match: {namespaces: {include: [forged]}}
      allow: ["%[1]s/base/alpine:*"]
`, reg.host)), 0o644)
	manifests := filepath.Join(dir, "pods.yaml")
	os.WriteFile(manifests, []byte(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: pinned}
spec: {containers: [{name: app, image: "%[1]s@%[2]s"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: swapped}
spec: {containers: [{name: app, image: "%[1]s@%[3]s"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: forged, namespace: forged}
spec: {containers: [{name: app, image: "%[4]s/apps/forged:1"}]}
`, good, goodDigest, evilDigest, reg.host)), 0o644)

	type result struct {
		Rule, Result, Message string
		Resource              struct{ Name string }
		Lineage               []struct {
			Ref         string
			TagVerified *bool
		}
	}
	check := func(args ...string) map[string]result {
		t.Helper()
		out, errOut, _ := run(t, "", append([]string{"check", "-o", "json", "-p", policyFile, manifests}, args...)...)
		var doc struct{ Results []result }
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v\n%s\n%s", err, out, errOut)
		}
		got := map[string]result{}
		for _, r := range doc.Results {
			got[r.Resource.Name+"/"+r.Rule] = r
		}
		return got
	}
	tagVerified := func(r result) string {
		if len(r.Lineage) == 0 || r.Lineage[0].TagVerified == nil {
			return "absent"
		}
		return fmt.Sprint(*r.Lineage[0].TagVerified)
	}

	offline := check()
	for _, k := range []string{"pinned/payments-1.4", "swapped/payments-1.4"} {
		if r := offline[k]; r.Result != "pass" || tagVerified(r) != "false" {
			t.Errorf("offline %s: %s, tagVerified %s; want pass (tag taken as written), tagVerified false", k, r.Result, tagVerified(r))
		}
	}
	text, _, _ := run(t, "", "check", "-v", "-p", policyFile, manifests)
	if !strings.Contains(text, "tag not verified") {
		t.Errorf("offline text output does not say the tag was not verified:\n%s", text)
	}

	resolved := check("--resolve")
	if r := resolved["pinned/payments-1.4"]; r.Result != "pass" || tagVerified(r) != "true" {
		t.Errorf("pinned: %s, tagVerified %s; want pass, true (%s)", r.Result, tagVerified(r), r.Message)
	}
	r := resolved["swapped/payments-1.4"]
	if r.Result != "fail" || tagVerified(r) != "false" || strings.Contains(r.Lineage[0].Ref, ":1.4") || !strings.Contains(r.Message, "tag and digest disagree") {
		t.Errorf("swapped: %s, tagVerified %s, judged as %s, message %q; want a failure judged by the digest alone, saying tag and digest disagree", r.Result, tagVerified(r), r.Lineage[0].Ref, r.Message)
	}
	if r := resolved["forged/on-alpine"]; r.Result != "fail" || !strings.Contains(r.Message, "a claim, not evidence") {
		t.Errorf("forged: %s %q; want a failure saying the only match is a claim", r.Result, r.Message)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestCheckResolvesEachPlatform: a Dockerfile built for two platforms pulls
// its FROM image for each, and with --resolve each platform's lineage is
// judged: a denied base under the arm64 image alone fails the check.
func TestCheckResolvesEachPlatform(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := newTestRegistry(t)
	alpine, _ := random.Image(1024, 2)
	alpineDigest := reg.push(t, "base/alpine:3.19", alpine)
	centos, _ := random.Image(1024, 2)
	centosDigest := reg.push(t, "base/centos:7", centos)
	amd := child(t, alpine, reg.host+"/base/alpine:3.19", alpineDigest)
	arm := child(t, centos, reg.host+"/base/centos:7", centosDigest)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	if err := remote.WriteIndex(must(name.NewTag(reg.host+"/company/base:1")), idx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	os.WriteFile(df, []byte("FROM "+reg.host+"/company/base:1\n"), 0o644)
	policyFile := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policyFile, []byte("apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata: {name: p}\nspec:\n  rules:\n    - {name: no-centos, deny: [\"*centos*\"]}\n"), 0o644)

	out, errOut, code := run(t, "", "check", "--resolve", "-p", policyFile, df)
	if code != exitFailed || !strings.Contains(out, "linux/arm64") || !strings.Contains(out, "centos") {
		t.Fatalf("exit %d, want %d with the arm64 image's centos base named:\n%s\n%s", code, exitFailed, out, errOut)
	}
	out, _, code = run(t, "", "check", "--resolve", "--platform", "linux/amd64", "-p", policyFile, df)
	if code != exitOK {
		t.Errorf("built for linux/amd64 only: exit %d, want 0 (its base is alpine)\n%s", code, out)
	}
}
