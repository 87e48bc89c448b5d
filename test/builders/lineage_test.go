package builders

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
)

// entry is what a user reads of one lineage entry: the reference (without
// the registry host), the digest, the source and whether it is verified.
type entry struct {
	Ref      string
	Digest   string
	Source   string
	Verified bool
}

// platform is one platform's lineage; Platform is os/arch, no variant.
type platform struct {
	Platform string
	Lineage  []entry
}

// img is the image itself, for a platform.
func img(path, p string) entry {
	return entry{Ref: path, Digest: w.d[path+" "+p], Source: "reference", Verified: true}
}

// base is a verified base found from src, for a platform; key names the
// build recorded (path, or "path new" for a rebuilt tag).
func base(path, key, p, src string) entry {
	return entry{Ref: path, Digest: w.d[key+" "+p], Source: src, Verified: true}
}

// onCompany is an image's lineage through a company base (found from
// src) down to the upstream (found from provenance), per platform.
func onCompany(path, company, key, src string, ps ...string) []platform {
	var out []platform
	for _, p := range ps {
		out = append(out, platform{p, []entry{img(path, p), base(company, key, p, src), base("upstream/alpine:3", "upstream/alpine:3", p, "provenance")}})
	}
	return out
}

var both = []string{"linux/amd64", "linux/arm64"}

// lineageCase is an image and what inspect must say of it.
type lineageCase struct {
	image   string
	args    []string // more inspect flags
	want    []platform
	problem string // text output must say this
}

func lineageCases() map[string]lineageCase {
	const amd, arm = "linux/amd64", "linux/arm64"
	pinned := "company/base@" + w.d["company/base:1 "+amd]
	cases := map[string]lineageCase{
		"BuildKit FROM scratch: no base": {image: "upstream/alpine:3",
			want:    []platform{{amd, []entry{img("upstream/alpine:3", amd)}}, {arm, []entry{img("upstream/alpine:3", arm)}}},
			problem: "no base found"},
		"BuildKit multi-stage: the shipped stage's base, not the builder's": {image: "company/base:1",
			want: []platform{
				{amd, []entry{img("company/base:1", amd), base("upstream/alpine:3", "upstream/alpine:3", amd, "provenance")}},
				{arm, []entry{img("company/base:1", arm), base("upstream/alpine:3", "upstream/alpine:3", arm, "provenance")}},
			}},
		"BuildKit FROM pinned by the base's platform digest": {image: "apps/bk-pinned:1",
			want: []platform{{amd, []entry{img("apps/bk-pinned:1", amd),
				{Ref: pinned, Digest: w.d["company/base:1 "+amd], Source: "provenance", Verified: true},
				base("upstream/alpine:3", "upstream/alpine:3", amd, "provenance")}}}},
		"ko --platform=all on a BuildKit base": {image: "apps/ko-all:1",
			want: onCompany("apps/ko-all:1", "company/base:1", "company/base:1", "annotation", both...)},
		"ko inspect --platform": {image: "apps/ko-all:1", args: []string{"--platform", arm},
			want: onCompany("apps/ko-all:1", "company/base:1", "company/base:1", "annotation", arm)},
		"ko single platform on a multi-platform BuildKit base": {image: "apps/ko-one:1",
			want: onCompany("apps/ko-one:1", "company/base:1", "company/base:1", "annotation", arm)},
		"ko on a base whose tag moved: the attestation through the referrers API": {image: "apps/ko-moving:1",
			want:    onCompany("apps/ko-moving:1", "company/moving:1", "company/moving:1", "annotation", both...),
			problem: "outdated: its tag now points at"},
		"ko on a base whose tag moved, attestation unreachable: said, nothing guessed": {image: "apps/ko-legacy:1",
			want:    []platform{{amd, []entry{img("apps/ko-legacy:1", amd), base("company/legacy:1", "company/legacy:1", amd, "annotation")}}},
			problem: "provenance not found: " + host + "/company/legacy:1 now names index"},
		"the same with the upstream in the catalog: by layers": {image: "apps/ko-legacy:1", args: []string{"--catalog", host + "/upstream/alpine:3"},
			want: []platform{{amd, []entry{img("apps/ko-legacy:1", amd), base("company/legacy:1", "company/legacy:1", amd, "annotation"),
				base("upstream/alpine:3", "upstream/alpine:3", amd, "layers")}}},
			problem: "provenance not found"},
		"crane append --set-base-image-annotations on an OCI BuildKit base": {image: "apps/crane-oci:1",
			want: onCompany("apps/crane-oci:1", "company/base:1", "company/base:1", "annotation", arm)},
		"crane append --set-base-image-annotations on a Docker schema 2 base": {image: "apps/crane-docker:1",
			want: []platform{{"", []entry{img("apps/crane-docker:1", ""), base("docker/base:1", "docker/base:1", "", "annotation")}}}},
		"crane append on a base whose tag moved": {image: "apps/crane-moving:1",
			want: onCompany("apps/crane-moving:1", "company/moving:1", "company/moving:1", "annotation", amd)},
		"crane rebase onto the moved base": {image: "apps/crane-rebased:1",
			want: onCompany("apps/crane-rebased:1", "company/moving:1", "company/moving:1 new", "annotation", amd)},
		"crane mutate --annotation: a false base, unverified": {image: "apps/crane-false:1",
			want: []platform{{"", []entry{img("apps/crane-false:1", ""),
				{Ref: "company/base:1", Digest: w.d["company/base:1 "+amd], Source: "annotation"}}}},
			problem: "NOT VERIFIED"},
		"crane mutate --label: the base annotations as labels": {image: "apps/crane-label:1",
			want: []platform{{amd, []entry{img("apps/crane-label:1", amd), base("upstream/alpine:3", "upstream/alpine:3", amd, "annotation")}}}},
		"crane append, nothing declared: no base": {image: "apps/crane-plain:1",
			want:    []platform{{amd, []entry{img("apps/crane-plain:1", amd)}}},
			problem: "no base found"},
		"crane append, nothing declared: the catalog by layers": {image: "apps/crane-plain:1", args: []string{"--catalog", host + "/upstream/alpine:3"},
			want: []platform{{amd, []entry{img("apps/crane-plain:1", amd), base("upstream/alpine:3", "upstream/alpine:3", amd, "layers")}}}},
	}
	for _, mode := range []string{"min", "max"} {
		for _, v := range []string{"v02", "v1"} {
			path := "apps/bk-" + mode + "-" + v + ":1"
			cases["BuildKit provenance mode="+mode+" "+v+" on a BuildKit base"] = lineageCase{image: path,
				want: onCompany(path, "company/base:1", "company/base:1", "provenance", both...)}
		}
	}
	return cases
}

func TestInspect(t *testing.T) {
	needEnv(t)
	for name, tc := range lineageCases() {
		t.Run(name, func(t *testing.T) {
			out, stderr, err := baseguard(append([]string{"inspect", "-o", "json", w.ref(tc.image)}, tc.args...)...)
			if err != nil {
				t.Fatalf("inspect: %v\n%s", err, stderr)
			}
			if diff := cmp.Diff(tc.want, fromJSON(t, out)); diff != "" {
				t.Errorf("inspect -o json %s (-want +got):\n%s", tc.image, diff)
			}
			text, stderr, err := baseguard(append([]string{"inspect", w.ref(tc.image)}, tc.args...)...)
			if err != nil {
				t.Fatalf("inspect: %v\n%s", err, stderr)
			}
			t.Logf("inspect %s:\n%s", tc.image, strings.ReplaceAll(text, host+"/", ""))
			if tc.problem != "" && !strings.Contains(text, tc.problem) {
				t.Errorf("inspect does not say %q:\n%s", tc.problem, text)
			}
			if tc.problem == "" && strings.Contains(text, "! ") {
				t.Errorf("inspect reports a problem:\n%s", text)
			}
		})
	}
}

// TestKoIndexDigest: the index-level base digest ko 0.19 writes names no
// manifest anywhere; it never shows in, nor breaks, the answer.
func TestKoIndexDigest(t *testing.T) {
	needEnv(t)
	d := w.koIndexBaseDigest
	if d == "" || d == w.d["company/base:1"] {
		t.Fatalf("ko wrote index-level base digest %q, the base index is %s: the premise of this test is gone", d, w.d["company/base:1"])
	}
	if out, err := exec.Command(filepath.Join(tools, "crane"), "--insecure", "manifest", w.ref("company/base")+"@"+d).CombinedOutput(); err == nil {
		t.Fatalf("the index-level base digest names a manifest:\n%s", out)
	}
	for _, format := range []string{"text", "json"} {
		out, stderr, err := baseguard("inspect", "-o", format, w.ref("apps/ko-all:1"))
		if err != nil {
			t.Fatalf("inspect: %v\n%s", err, stderr)
		}
		if strings.Contains(out+stderr, strings.TrimPrefix(d, "sha256:")[:12]) {
			t.Errorf("inspect -o %s mentions the index-level digest %s:\n%s", format, d, out)
		}
	}
}

// TestResolveAPI asserts the same lineages through the Go API, with the
// freshness of each base.
func TestResolveAPI(t *testing.T) {
	needEnv(t)
	anonymous := registry.WithKeychain(authn.NewMultiKeychain())
	c, err := registry.New(anonymous)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range lineageCases() {
		t.Run(name, func(t *testing.T) {
			opts := []registry.Option{anonymous}
			var ropts []registry.ResolveOption
			for i := 0; i < len(tc.args); i += 2 {
				switch tc.args[i] {
				case "--catalog":
					opts = append(opts, registry.WithCatalog(mustRef(t, tc.args[i+1])))
				case "--platform":
					ropts = append(ropts, registry.ForPlatform(tc.args[i+1]))
				}
			}
			cl := c
			if len(opts) > 1 {
				if cl, err = registry.New(opts...); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := cl.Resolve(ctx, mustRef(t, w.ref(tc.image)), ropts...)
			if err != nil {
				t.Fatal(err)
			}
			var got []platform
			for _, p := range res.Platforms {
				if p.Lineage.Err != nil {
					t.Errorf("%s: %v", p.Platform, p.Lineage.Err)
				}
				pv := platform{Platform: osArch(p.Platform)}
				for _, e := range p.Lineage.Entries {
					pv.Lineage = append(pv.Lineage, entry{Ref: strings.TrimPrefix(e.Ref.Canonical(), host+"/"), Digest: e.Digest, Source: string(e.Source), Verified: e.Verified})
				}
				got = append(got, pv)
				for _, b := range p.Lineage.Bases() {
					moved := strings.HasPrefix(b.Ref.Repository, "company/moving") && !strings.Contains(tc.image, "rebased") ||
						strings.HasPrefix(b.Ref.Repository, "company/legacy")
					if b.Verified && b.Ref.Tag != "" && (b.Current == nil || *b.Current == moved) {
						t.Errorf("%s: base %s: current = %v, want %v", p.Platform, b.Ref, b.Current, !moved)
					}
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Resolve %s (-want +got):\n%s", tc.image, diff)
			}
		})
	}
}

// baseguard runs the CLI with its own cache directory.
func baseguard(args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(work, "cache"), "HOME="+work)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// fromJSON reads inspect's JSON contract.
func fromJSON(t *testing.T, out string) []platform {
	t.Helper()
	var doc struct {
		Platforms []struct {
			Platform string `json:"platform"`
			Error    string `json:"error"`
			Lineage  []struct {
				Ref      string `json:"ref"`
				Digest   string `json:"digest"`
				Source   string `json:"source"`
				Verified bool   `json:"verified"`
			} `json:"lineage"`
		} `json:"platforms"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("inspect -o json: %v\n%s", err, out)
	}
	var got []platform
	for _, p := range doc.Platforms {
		if p.Error != "" {
			t.Errorf("%s: %s", p.Platform, p.Error)
		}
		pv := platform{Platform: osArch(p.Platform)}
		for _, e := range p.Lineage {
			pv.Lineage = append(pv.Lineage, entry{Ref: strings.TrimPrefix(e.Ref, host+"/"), Digest: e.Digest, Source: e.Source, Verified: e.Verified})
		}
		got = append(got, pv)
	}
	return got
}

// osArch drops a platform's variant (arm64 is written with and without v8).
func osArch(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) > 2 {
		parts = parts[:2]
	}
	return strings.Join(parts, "/")
}

func mustRef(t *testing.T, s string) imageref.Ref {
	t.Helper()
	r, err := imageref.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestChainRequests counts the registry requests of a cold three-level
// chain through a BuildKit base declared by its platform digest (ko on
// company/base:1 on upstream/alpine:3), and checks that a warm lookup makes
// none. The counts are in BENCHMARKS.md.
func TestChainRequests(t *testing.T) {
	needEnv(t)
	for _, image := range []string{"apps/ko-one:1", "apps/ko-moving:1"} {
		t.Run(image, func(t *testing.T) {
			c, err := registry.New(registry.WithKeychain(authn.NewMultiKeychain()))
			if err != nil {
				t.Fatal(err)
			}
			ref := mustRef(t, w.ref(image))
			requests.reset()
			l := c.Lineage(context.Background(), ref)
			cold := requests.reset()
			if l.Err != nil || len(l.Entries) != 3 {
				t.Fatalf("lineage of %d entries, err %v", len(l.Entries), l.Err)
			}
			t.Logf("cold: %d requests: %s", len(cold), strings.Join(cold, ", "))
			// Bounded: three images (manifest, config, tag), the base's index,
			// its attestation (manifest, statement), the builder stage it
			// lists, the upstream's index, a referrers list when the tag
			// moved, and a ping per repository.
			if len(cold) > 30 {
				t.Errorf("cold: %d requests, want at most 30", len(cold))
			}
			c.Lineage(context.Background(), ref)
			if warm := requests.reset(); len(warm) != 0 {
				t.Errorf("warm: %d requests, want 0: %v", len(warm), warm)
			}
		})
	}
}
