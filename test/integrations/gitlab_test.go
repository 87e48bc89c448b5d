package integrations

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The GitLab CI template (ci/gitlab/baseguard.yml) defines a hidden job
// `.baseguard` that users extend. GitLab exports the global and the job's
// variables (the user's overriding the template's) as environment
// variables and runs before_script and script in one shell of the job's
// image (alpine: a POSIX sh). The test does the same with /bin/sh.

type glTemplate struct {
	Variables map[string]string `yaml:"variables"`
	Job       struct {
		Image        string            `yaml:"image"`
		Variables    map[string]string `yaml:"variables"`
		BeforeScript []string          `yaml:"before_script"`
		Script       []string          `yaml:"script"`
		Artifacts    struct {
			When  string   `yaml:"when"`
			Paths []string `yaml:"paths"`
		} `yaml:"artifacts"`
	} `yaml:".baseguard"`
}

func TestGitLabTemplate(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "ci", "gitlab", "baseguard.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl glTemplate
	if err := yaml.Unmarshal(data, &tpl); err != nil {
		t.Fatalf("ci/gitlab/baseguard.yml: %v", err)
	}
	if tpl.Job.Artifacts.When != "always" || len(tpl.Job.Artifacts.Paths) == 0 {
		t.Fatalf("the report must be kept as an artifact whatever the outcome: %+v", tpl.Job.Artifacts)
	}
	schema := filepath.Join(repoRoot(t), "report", "testdata", "sarif-schema-2.1.0.json")
	tests := []struct {
		name  string
		files map[string]string
		vars  map[string]string
		exit  int
		check func(t *testing.T, dir, log string)
	}{
		{"denied base fails, SARIF kept", map[string]string{"k8s/legacy.yaml": centosPod}, map[string]string{"BASEGUARD_PATHS": "k8s"}, 1,
			func(t *testing.T, dir, _ string) { validateSARIFFile(t, schema, filepath.Join(dir, "baseguard.sarif")) }},
		{"approved base passes", map[string]string{"ok.yaml": approvedPod}, nil, 0, nil},
		{"JSON report with a policy", map[string]string{"a/legacy.yaml": centosPod, "p.yaml": denyCentos},
			map[string]string{"BASEGUARD_PATHS": "a", "BASEGUARD_POLICY": "p.yaml", "BASEGUARD_FORMAT": "json", "BASEGUARD_REPORT": "baseguard.json"}, 1,
			func(t *testing.T, dir, _ string) {
				body, _ := os.ReadFile(filepath.Join(dir, "baseguard.json"))
				if !strings.Contains(string(body), `"rule":"no-centos","result":"fail"`) {
					t.Errorf("JSON report does not hold the policy's failure:\n%s", body)
				}
			}},
		{"a bad resolve variable is an error", map[string]string{"ok.yaml": approvedPod}, map[string]string{"BASEGUARD_RESOLVE": "yes"}, 2, nil},
		{"variables are data, not shell", map[string]string{"ok.yaml": approvedPod}, map[string]string{"BASEGUARD_PATHS": "ok.yaml $(touch pwned)"}, 2,
			func(t *testing.T, dir, _ string) {
				if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
					t.Error("a variable ran as shell")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			script := strings.Join(append(append([]string{}, tpl.Job.BeforeScript...), tpl.Job.Script...), "\n")
			cmd := exec.Command("/bin/sh", "-e", "-c", script)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PATH="+baseguardBin(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
			for _, vars := range []map[string]string{tpl.Variables, tpl.Job.Variables, tt.vars} {
				for k, v := range vars {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
			}
			var log bytes.Buffer
			cmd.Stdout, cmd.Stderr = &log, &log
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.exit {
				t.Errorf("job exit %d, want %d\n%s", code, tt.exit, log.String())
			}
			if strings.Contains(log.String(), "wget") {
				t.Errorf("the job downloaded baseguard although the release version is installed:\n%s", log.String())
			}
			if tt.check != nil {
				tt.check(t, dir, log.String())
			}
		})
	}
}
