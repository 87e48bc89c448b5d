package integrations

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// builderTools returns the directory holding ko (and crane, BuildKit):
// the one hack/test.sh exported, or what hack/tools.sh prints, building
// them on first use. A tool that cannot be had fails the test.
func builderTools(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("BASEGUARD_TOOLS"); dir != "" {
		return dir
	}
	cmd := exec.Command(filepath.Join(repoRoot(t), "hack", "tools.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/tools.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestOwnImage builds baseguard's own image with the real ko, as .ko.yaml
// says (both platforms; non-root as its distroless :nonroot base is), on a stand-in for its distroless base
// in a loopback registry, and checks that `baseguard inspect` of the
// result names that base, verified by layers, on every platform.
func TestOwnImage(t *testing.T) {
	endToEnd(t)
	ko := filepath.Join(builderTools(t), "ko")
	srv := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	base := host + "/distroless/static-debian12:nonroot"
	pushBase(t, base)

	bare, _ := snapshotRepo(t)
	src := t.TempDir()
	if out, err := exec.Command("git", "clone", "-q", bare, src).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	cmd := exec.Command(ko, "build", "./cmd/baseguard", "--bare", "--insecure-registry", "-t", "test")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "KO_DOCKER_REPO="+host+"/baseguard", "KO_DEFAULTBASEIMAGE="+base, "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=-buildvcs=false")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ko build: %v\n%s", err, stderr.String())
	}
	image := strings.TrimSpace(string(out))

	inspect := exec.Command(filepath.Join(baseguardBin(t), "baseguard"), "inspect", "-o", "json", image)
	inspect.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir())
	js, err := inspect.Output()
	if err != nil {
		t.Fatalf("baseguard inspect %s: %v", image, err)
	}
	var doc struct {
		Platforms []struct {
			Platform string
			Lineage  []struct {
				Ref      string
				Source   string
				Verified bool
			}
		}
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	platforms := map[string]bool{}
	for _, p := range doc.Platforms {
		platforms[p.Platform] = true
		if len(p.Lineage) < 2 || p.Lineage[1].Ref != base || !p.Lineage[1].Verified || p.Lineage[1].Source != "annotation" {
			t.Errorf("%s: lineage %+v, want its base %s from the annotation, verified", p.Platform, p.Lineage, base)
		}
	}
	if !platforms["linux/amd64"] || !platforms["linux/arm64"] || len(platforms) != 2 {
		t.Errorf("platforms %v, want linux/amd64 and linux/arm64", platforms)
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Config.User != "65532" || len(cfg.Config.Entrypoint) == 0 || !strings.HasSuffix(cfg.Config.Entrypoint[0], "/baseguard") {
			t.Errorf("%s: user %q, entrypoint %v: want the base's non-root user 65532 running baseguard", d.Platform, cfg.Config.User, cfg.Config.Entrypoint)
		}
	}
}

// pushBase pushes a two-platform stand-in for distroless static (ko
// cannot reach the real one here): what matters to the test is that it is
// a multi-platform index whose platform images ko builds on.
func pushBase(t *testing.T, ref string) {
	t.Helper()
	idx := v1.ImageIndex(empty.Index)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(256, 2)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := img.ConfigFile()
		cfg = cfg.DeepCopy()
		cfg.OS, cfg.Architecture = "linux", arch
		cfg.Config.User = "65532" // as distroless :nonroot sets it
		if img, err = mutate.ConfigFile(img, cfg); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
}
