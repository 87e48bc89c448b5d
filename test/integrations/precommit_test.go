package integrations

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPreCommitHook runs the real pre-commit on a scratch repository whose
// .pre-commit-config.yaml uses this repository's hook (.pre-commit-hooks.yaml,
// `language: golang`: pre-commit builds baseguard itself): a commit that
// stages a denied base is refused with baseguard's message, an approved one
// and one that stages no manifest pass.
func TestPreCommitHook(t *testing.T) {
	endToEnd(t)
	preCommit, err := exec.LookPath("pre-commit")
	if err != nil {
		t.Fatal("pre-commit is not installed (hack/test.sh installs Debian's pre-commit package): the hook cannot be tested")
	}
	hookRepo, rev := snapshotRepo(t)
	work := t.TempDir()
	env := append(os.Environ(),
		"PRE_COMMIT_HOME="+filepath.Join(t.TempDir(), "pre-commit"),
		"GOMODCACHE="+goEnv(t, "GOMODCACHE"), // pre-commit sets GOPATH; keep the module cache
		"GOTOOLCHAIN=local", "GIT_AUTHOR_NAME=dev", "GIT_AUTHOR_EMAIL=dev@example.com",
		"GIT_COMMITTER_NAME=dev", "GIT_COMMITTER_EMAIL=dev@example.com")
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = work, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	mustGit := func(args ...string) {
		t.Helper()
		if out, err := git(args...); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	mustGit("init", "-q", "-b", "main")
	writeFiles(t, work, map[string]string{".pre-commit-config.yaml": "repos:\n  - repo: " + hookRepo + "\n    rev: " + rev + "\n    hooks:\n      - id: baseguard\n"})
	mustGit("add", ".pre-commit-config.yaml")
	install := exec.Command(preCommit, "install")
	install.Dir, install.Env = work, env
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("pre-commit install: %v\n%s", err, out)
	}

	steps := []struct {
		name    string
		files   map[string]string
		refused bool
		says    string
	}{
		{"no manifest staged", map[string]string{"README.md": "# app\n", ".github/workflows/ci.yml": "on: push\njobs: {}\n"}, false, ""},
		{"approved base", map[string]string{"k8s/web.yaml": approvedPod, "Dockerfile": "FROM registry.example.com/base/wolfi:latest\n"}, false, ""},
		{"denied base in a manifest", map[string]string{"k8s/legacy.yaml": centosPod}, true, "centos:7"},
		{"denied base in a Dockerfile", map[string]string{"services/api/Dockerfile.prod": "FROM ubuntu:18.04\n"}, true, "ubuntu:18.04"},
	}
	for _, st := range steps {
		writeFiles(t, work, st.files)
		for name := range st.files {
			mustGit("add", name)
		}
		out, err := git("commit", "-m", st.name)
		if refused := err != nil; refused != st.refused {
			t.Fatalf("%s: commit refused = %v, want %v\n%s", st.name, refused, st.refused, out)
		}
		if st.refused {
			if !strings.Contains(out, st.says) || !strings.Contains(out, "FAIL") {
				t.Errorf("%s: the refusal does not carry baseguard's message about %s:\n%s", st.name, st.says, out)
			}
			mustGit("reset", "-q", "--hard", "HEAD")
		}
	}
}

// snapshotRepo makes a bare repository holding this checkout's files as
// they are now (uncommitted and new files included, ignored ones not), for
// pre-commit to clone as the hook repository, and returns its path and the
// revision.
func snapshotRepo(t *testing.T) (string, string) {
	t.Helper()
	root := repoRoot(t)
	index := filepath.Join(t.TempDir(), "index")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GIT_INDEX_FILE="+index,
			"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.com")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %s: %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	run("add", "-A", ".")
	tree := run("write-tree")
	rev := run("commit-tree", tree, "-m", "snapshot")
	bare := filepath.Join(t.TempDir(), "baseguard.git")
	run("init", "-q", "--bare", "--initial-branch=main", bare)
	run("push", "-q", bare, rev+":refs/heads/main")
	return bare, rev
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
