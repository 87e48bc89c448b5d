package builders

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// world is every image the tests read, built by the real tools:
//
//	library/golang:1.22    BuildKit, FROM scratch, amd64+arm64: a builder stage
//	upstream/alpine:3      BuildKit, FROM scratch, amd64+arm64, provenance
//	company/base:1         BuildKit, multi-stage (golang builder), FROM upstream, provenance max v1
//	company/moving:1       the same, rebuilt after apps were built on it
//	company/legacy:1       the same with attestations without a subject (oci-artifact=false), rebuilt too
//	apps/bk-<mode>-<v>:1   BuildKit, multi-stage FROM company/base:1, provenance mode min/max, SLSA v0.2/v1
//	apps/bk-pinned:1       BuildKit, FROM company/base@<amd64 digest>, amd64 only
//	apps/ko-all:1          ko --platform=all on company/base:1
//	apps/ko-one:1          ko --platform=linux/arm64 on company/base:1
//	apps/ko-moving:1       ko --platform=all on company/moving:1 (before it moved)
//	apps/ko-legacy:1       ko --platform=linux/amd64 on company/legacy:1 (before it moved)
//	apps/crane-oci:1       crane append --set-base-image-annotations on company/base:1 (arm64)
//	docker/base:1          crane append on nothing: Docker schema 2
//	apps/crane-docker:1    crane append --set-base-image-annotations on docker/base:1
//	apps/crane-moving:1    crane append --set-base-image-annotations on company/moving:1 (before it moved)
//	apps/crane-rebased:1   crane rebase of apps/crane-moving:1 onto the moved company/moving:1
//	apps/crane-false:1     crane mutate --annotation: apps/crane-docker:1 claiming company/base:1
//	apps/crane-label:1     crane append on upstream, then mutate --label with the base annotations
//	apps/crane-plain:1     crane append on upstream, nothing declared
type world struct {
	dir string
	// digests: "repo:tag" for what a tag named when built ("company/moving:1"
	// is the first build, "company/moving:1 new" the second), and
	// "repo:tag linux/arm64" for its platform manifests.
	d map[string]string
	// koIndexBaseDigest is the index-level base digest ko wrote on
	// apps/ko-all:1.
	koIndexBaseDigest string
}

func (w *world) ref(path string) string { return host + "/" + path }

func buildWorld() (*world, error) {
	w := &world{dir: filepath.Join(work, "world"), d: map[string]string{}}
	start := time.Now()
	steps := []func() error{
		func() error { return w.bkScratch("library/golang:1.22", "golang", "") },
		func() error { return w.bkScratch("upstream/alpine:3", "alpine", "attest:provenance=mode=max") },
		func() error { return w.bkCompany("company/base:1", "base", "") },
		func() error { return w.bkCompany("company/moving:1", "moving", "") },
		func() error { return w.bkCompany("company/legacy:1", "legacy", ",oci-artifact=false") },
		w.bkApps,
		w.koApps,
		w.craneApps,
		w.move,
		func() error {
			if err := w.crane("rebase", w.ref("apps/crane-moving:1"), "-t", w.ref("apps/crane-rebased:1")); err != nil {
				return err
			}
			return w.record("apps/crane-rebased:1", "")
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(os.Stderr, "builders: images built in %s\n", time.Since(start).Round(time.Second))
	return w, nil
}

// bkScratch builds a FROM scratch image for amd64 and arm64 whose files
// differ per platform.
func (w *world) bkScratch(path, content, attest string) error {
	ctxDir, err := w.context(path, content)
	if err != nil {
		return err
	}
	opts := []string{"--opt", "platform=linux/amd64,linux/arm64"}
	if attest != "" {
		opts = append(opts, "--opt", attest)
	}
	return w.bk(path, ctxDir, "scratch.Dockerfile", opts, "")
}

// bkCompany builds a company base: a golang builder stage, shipped on
// upstream/alpine:3.
func (w *world) bkCompany(path, content, output string) error {
	ctxDir, err := w.context(path, content)
	if err != nil {
		return err
	}
	opts := []string{"--opt", "platform=linux/amd64,linux/arm64", "--opt", "attest:provenance=mode=max,version=v1",
		"--opt", "build-arg:REGISTRY=" + host, "--opt", "build-arg:BASE=" + w.ref("upstream/alpine:3")}
	return w.bk(path, ctxDir, "stages.Dockerfile", opts, output)
}

// bkApps builds apps on company/base:1 with each provenance mode and SLSA
// version, and one pinned to the base's amd64 digest.
func (w *world) bkApps() error {
	for _, mode := range []string{"min", "max"} {
		for _, v := range []string{"v0.2", "v1"} {
			path := fmt.Sprintf("apps/bk-%s-%s:1", mode, strings.ReplaceAll(v, ".", ""))
			ctxDir, err := w.context(path, "app")
			if err != nil {
				return err
			}
			opts := []string{"--opt", "platform=linux/amd64,linux/arm64", "--opt", "attest:provenance=mode=" + mode + ",version=" + v,
				"--opt", "build-arg:REGISTRY=" + host, "--opt", "build-arg:BASE=" + w.ref("company/base:1")}
			if err := w.bk(path, ctxDir, "stages.Dockerfile", opts, ""); err != nil {
				return err
			}
		}
	}
	ctxDir, err := w.context("apps/bk-pinned:1", "app")
	if err != nil {
		return err
	}
	pinned := w.ref("company/base") + "@" + w.d["company/base:1 linux/amd64"]
	opts := []string{"--opt", "platform=linux/amd64", "--opt", "attest:provenance=mode=max",
		"--opt", "build-arg:REGISTRY=" + host, "--opt", "build-arg:BASE=" + pinned}
	return w.bk("apps/bk-pinned:1", ctxDir, "stages.Dockerfile", opts, "")
}

// koApps builds the Go program in testdata/koapp with ko.
func (w *world) koApps() error {
	for _, k := range []struct{ path, base, platform string }{
		{"apps/ko-all:1", "company/base:1", "all"},
		{"apps/ko-one:1", "company/base:1", "linux/arm64"},
		{"apps/ko-moving:1", "company/moving:1", "all"},
		{"apps/ko-legacy:1", "company/legacy:1", "linux/amd64"},
	} {
		repo, tag, _ := strings.Cut(k.path, ":")
		cmd := exec.Command(filepath.Join(tools, "ko"), "build", "--bare", "--insecure-registry", "--platform="+k.platform, "-t", tag, ".")
		cmd.Dir = filepath.Join("testdata", "koapp")
		cmd.Env = append(os.Environ(), "KO_DOCKER_REPO="+w.ref(repo), "KO_DEFAULTBASEIMAGE="+w.ref(k.base), "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("ko build %s: %v\n%s", k.path, err, out)
		}
		if err := w.record(k.path, ""); err != nil {
			return err
		}
	}
	idx, err := index(w.ref("apps/ko-all:1"))
	if err != nil {
		return err
	}
	w.koIndexBaseDigest = idx.Annotations["org.opencontainers.image.base.digest"]
	return nil
}

// craneApps builds the images crane makes.
func (w *world) craneApps() error {
	layer := func(name string) string { return filepath.Join(w.dir, name+".tar") }
	for _, n := range []string{"docker-base", "app"} {
		if err := writeTar(layer(n), map[string]string{"etc/" + n: n + "\n"}); err != nil {
			return err
		}
	}
	steps := [][]string{
		{"append", "-f", layer("docker-base"), "-t", w.ref("docker/base:1")},
		{"--platform", "linux/arm64", "append", "-b", w.ref("company/base:1"), "-f", layer("app"), "-t", w.ref("apps/crane-oci:1"), "--set-base-image-annotations"},
		{"append", "-b", w.ref("docker/base:1"), "-f", layer("app"), "-t", w.ref("apps/crane-docker:1"), "--set-base-image-annotations"},
		{"append", "-b", w.ref("company/moving:1"), "-f", layer("app"), "-t", w.ref("apps/crane-moving:1"), "--set-base-image-annotations"},
		{"mutate", w.ref("apps/crane-docker:1"), "-t", w.ref("apps/crane-false:1"),
			"--annotation", "org.opencontainers.image.base.name=" + w.ref("company/base:1"),
			"--annotation", "org.opencontainers.image.base.digest=" + w.d["company/base:1 linux/amd64"]},
		{"append", "-b", w.ref("upstream/alpine:3"), "-f", layer("app"), "-t", w.ref("apps/crane-plain:1")},
		{"mutate", w.ref("apps/crane-plain:1"), "-t", w.ref("apps/crane-label:1"),
			"--label", "org.opencontainers.image.base.name=" + w.ref("upstream/alpine:3"),
			"--label", "org.opencontainers.image.base.digest=" + w.d["upstream/alpine:3"]},
	}
	for _, s := range steps {
		if err := w.crane(s...); err != nil {
			return err
		}
	}
	for _, p := range []string{"docker/base:1", "apps/crane-oci:1", "apps/crane-docker:1", "apps/crane-moving:1", "apps/crane-false:1", "apps/crane-plain:1", "apps/crane-label:1"} {
		if err := w.record(p, ""); err != nil {
			return err
		}
	}
	return nil
}

// move rebuilds company/moving:1 and company/legacy:1 with other content,
// after apps were built on them.
func (w *world) move() error {
	if err := w.bkCompany("company/moving:1", "moving again", ""); err != nil {
		return err
	}
	return w.bkCompany("company/legacy:1", "legacy again", ",oci-artifact=false")
}

func (w *world) crane(args ...string) error {
	args = append([]string{"--insecure"}, args...)
	out, err := exec.Command(filepath.Join(tools, "crane"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("crane %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// bk builds path with BuildKit and records its digests; a second build of
// the same path is recorded as "<path> new".
func (w *world) bk(path, ctxDir, dockerfile string, opts []string, output string) error {
	df, err := filepath.Abs(filepath.Join("testdata", dockerfile))
	if err != nil {
		return err
	}
	if err := bk.build(ctxDir, df, opts, "name="+w.ref(path)+output); err != nil {
		return err
	}
	suffix := ""
	if _, again := w.d[path]; again {
		suffix = " new"
	}
	return w.record(path, suffix)
}

// context writes a build context whose files differ per platform and per
// content word.
func (w *world) context(path, content string) (string, error) {
	dir := filepath.Join(w.dir, "ctx", strings.NewReplacer("/", "_", ":", "_").Replace(path), strings.ReplaceAll(content, " ", "_"))
	for _, arch := range []string{"amd64", "arm64"} {
		d := filepath.Join(dir, arch, "etc")
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(d, "release"), []byte(path+" "+content+" "+arch+"\n"), 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// record notes the digest path's tag names now, and its platforms'.
func (w *world) record(path, suffix string) error {
	ref, err := name.ParseReference(w.ref(path))
	if err != nil {
		return err
	}
	desc, err := remote.Get(ref, remote.WithContext(context.Background()))
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	w.d[path+suffix] = desc.Digest.String()
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return err
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return err
		}
		p := ""
		if cfg.OS != "" {
			p = cfg.OS + "/" + cfg.Architecture
		}
		w.d[path+suffix+" "+p] = desc.Digest.String()
		return nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.OS != "unknown" {
			w.d[path+suffix+" "+m.Platform.OS+"/"+m.Platform.Architecture] = m.Digest.String()
		}
	}
	return nil
}

// index reads the index a reference names.
func index(ref string) (*v1.IndexManifest, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	idx, err := remote.Index(r)
	if err != nil {
		return nil, fmt.Errorf("reading index %s: %w", ref, err)
	}
	return idx.IndexManifest()
}

// writeTar writes a layer tarball holding files.
func writeTar(path string, files map[string]string) error {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for n, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
