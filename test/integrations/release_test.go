package integrations

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"go.yaml.in/yaml/v3"
)

// releaseTools returns the directory holding goreleaser and krew: the one
// hack/test.sh exported, or what hack/release-tools.sh prints (building
// them on first use). A tool that cannot be had fails the test.
func releaseTools(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("BASEGUARD_RELEASE_TOOLS"); dir != "" {
		return dir
	}
	cmd := exec.Command(filepath.Join(repoRoot(t), "hack", "release-tools.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/release-tools.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestGoreleaserCheck: goreleaser itself accepts .goreleaser.yaml.
func TestGoreleaserCheck(t *testing.T) {
	endToEnd(t)
	cmd := exec.Command(filepath.Join(releaseTools(t), "goreleaser"), "check")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("goreleaser check: %v\n%s", err, out)
	}
}

// TestGoreleaserBuild: a snapshot build by goreleaser of this checkout is a
// binary that says its version, commit and date.
func TestGoreleaserBuild(t *testing.T) {
	endToEnd(t)
	bare, rev := snapshotRepo(t)
	src := t.TempDir()
	if out, err := exec.Command("git", "clone", "-q", bare, src).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	cmd := exec.Command(filepath.Join(releaseTools(t), "goreleaser"), "build", "--snapshot", "--single-target", "--clean", "--output", "dist/baseguard")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("goreleaser build: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(src, "dist", "baseguard"), "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if v := string(out); !strings.Contains(v, "commit "+rev[:12]) || !strings.Contains(v, " built ") || strings.Contains(v, "version dev") {
		t.Errorf("--version of the release build = %q: want the version, commit %s and build date stamped", v, rev[:12])
	}
}

// TestKrewManifest renders plugins/baseguard.yaml as the krew release bot
// does (Go templates with sprig, addURIAndSha giving each archive's uri and
// sha256) for archives named as .goreleaser.yaml names them, and has the
// real krew install the plugin from that manifest and an archive laid out
// as goreleaser lays it out: kubectl-baseguard then runs.
func TestKrewManifest(t *testing.T) {
	endToEnd(t)
	krew := filepath.Join(releaseTools(t), "krew")
	const tag = "v" + releaseVersion
	archive := hostArchive(t)
	sum := sha256.Sum256(mustRead(t, archive))
	uris := map[string]bool{}
	funcs := sprig.TxtFuncMap()
	funcs["addURIAndSha"] = func(uri, tag string) string {
		uris[filepath.Base(uri)] = true
		return "uri: " + uri + "\n      sha256: " + hex.EncodeToString(sum[:])
	}
	tpl, err := template.New("baseguard.yaml").Funcs(funcs).ParseFiles(filepath.Join(repoRoot(t), "plugins", "baseguard.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest bytes.Buffer
	if err := tpl.Execute(&manifest, map[string]string{"TagName": tag}); err != nil {
		t.Fatal(err)
	}
	for _, want := range archiveNames(t, releaseVersion) {
		if !uris[want] {
			t.Errorf("the krew manifest has no platform for goreleaser's archive %s (it names %v)", want, uris)
		}
	}
	file := filepath.Join(t.TempDir(), "baseguard.yaml")
	os.WriteFile(file, manifest.Bytes(), 0o644)
	root := t.TempDir()
	cmd := exec.Command(krew, "install", "--manifest="+file, "--archive="+archive)
	cmd.Env = append(os.Environ(), "KREW_ROOT="+root, "KREW_NO_UPGRADE_CHECK=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("krew install: %v\n%s\nmanifest:\n%s", err, out, manifest.String())
	}
	out, err := exec.Command(filepath.Join(root, "bin", "kubectl-baseguard"), "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "kubectl baseguard") {
		t.Errorf("the installed plugin does not run as kubectl baseguard: %v\n%s", err, out)
	}
}

// hostArchive makes this platform's release archive the way .goreleaser.yaml
// lays it out (the binary and the listed files at its top), from the test's
// build of baseguard.
func hostArchive(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	stage := filepath.Join(dir, "stage")
	os.MkdirAll(stage, 0o755)
	for _, f := range []string{"README.md", "SECURITY.md"} {
		os.WriteFile(filepath.Join(stage, f), mustRead(t, filepath.Join(repoRoot(t), f)), 0o644)
	}
	os.WriteFile(filepath.Join(stage, "baseguard"), mustRead(t, filepath.Join(baseguardBin(t), "baseguard")), 0o755)
	name := filepath.Join(dir, archiveNames(t, releaseVersion)[0])
	if out, err := exec.Command("tar", "-czf", name, "-C", stage, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	return name
}

// archiveNames renders .goreleaser.yaml's archive name template for every
// platform it builds, this platform's first.
func archiveNames(t *testing.T, version string) []string {
	t.Helper()
	var cfg struct {
		ProjectName string `yaml:"project_name"`
		Builds      []struct {
			Goos   []string `yaml:"goos"`
			Goarch []string `yaml:"goarch"`
		} `yaml:"builds"`
		Archives []struct {
			NameTemplate    string   `yaml:"name_template"`
			Formats         []string `yaml:"formats"`
			FormatOverrides []struct {
				Goos    string   `yaml:"goos"`
				Formats []string `yaml:"formats"`
			} `yaml:"format_overrides"`
		} `yaml:"archives"`
	}
	if err := yaml.Unmarshal(mustRead(t, filepath.Join(repoRoot(t), ".goreleaser.yaml")), &cfg); err != nil {
		t.Fatal(err)
	}
	a := cfg.Archives[0]
	tpl := template.Must(template.New("name").Parse(a.NameTemplate))
	var names []string
	for _, goos := range cfg.Builds[0].Goos {
		for _, goarch := range cfg.Builds[0].Goarch {
			format := a.Formats[0]
			for _, o := range a.FormatOverrides {
				if o.Goos == goos {
					format = o.Formats[0]
				}
			}
			var b strings.Builder
			tpl.Execute(&b, map[string]string{"ProjectName": cfg.ProjectName, "Version": version, "Os": goos, "Arch": goarch})
			name := b.String() + "." + format
			if goos == runtime.GOOS && goarch == runtime.GOARCH {
				names = append([]string{name}, names...)
			} else {
				names = append(names, name)
			}
		}
	}
	return names
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
