package integrations

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The GitHub Action (action.yml at the root) is a composite action. The
// runner substitutes `${{ ... }}` expressions in a step's `env`, `with` and
// `if` before running it, and runs `shell: bash` steps as
// `bash --noprofile --norc -eo pipefail {0}`. These tests do the same with
// the action's own steps; only `uses:` steps (upload-sarif) are not run,
// but whether they would run is decided as the runner would.

type ghAction struct {
	Inputs map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Using string   `yaml:"using"`
		Steps []ghStep `yaml:"steps"`
	} `yaml:"runs"`
}

type ghStep struct {
	Name  string            `yaml:"name"`
	ID    string            `yaml:"id"`
	If    string            `yaml:"if"`
	Shell string            `yaml:"shell"`
	Run   string            `yaml:"run"`
	Uses  string            `yaml:"uses"`
	Env   map[string]string `yaml:"env"`
	With  map[string]string `yaml:"with"`
}

// actionRun is what running the action did.
type actionRun struct {
	outputs map[string]string // the check step's outputs
	failed  bool              // the job's status after the action
	uses    []string          // uses: steps that would have run
	stdout  string
	dir     string // the workspace
}

var expr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

func loadAction(t *testing.T) ghAction {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a ghAction
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if a.Runs.Using != "composite" {
		t.Fatalf("action.yml runs.using = %q, want composite", a.Runs.Using)
	}
	return a
}

// runAction runs the action's steps in a workspace holding files, with the
// inputs given (others take their defaults).
func runAction(t *testing.T, files map[string]string, inputs map[string]string) actionRun {
	t.Helper()
	a := loadAction(t)
	bin := baseguardBin(t)
	ws := t.TempDir()
	writeFiles(t, ws, files)
	ctx := map[string]string{"runner.os": "Linux", "runner.arch": "X64"}
	for name, in := range a.Inputs {
		ctx["inputs."+name] = in.Default
	}
	for name, v := range inputs {
		if _, ok := a.Inputs[name]; !ok {
			t.Fatalf("action.yml has no input %q", name)
		}
		ctx["inputs."+name] = v
	}
	run := actionRun{outputs: map[string]string{}, dir: ws}
	for i, st := range a.Runs.Steps {
		if strings.Contains(st.Run, "${{") {
			t.Fatalf("step %q expands an expression inside its script (script injection): pass it through env", st.Name)
		}
		if !evalIf(t, st.If, ctx, run.failed) {
			continue
		}
		if st.Uses != "" {
			run.uses = append(run.uses, st.Uses)
			continue
		}
		if st.Shell != "bash" {
			t.Fatalf("step %q: shell %q, want bash", st.Name, st.Shell)
		}
		out, outputs, err := runStep(t, i, st, ctx, bin, ws)
		run.stdout += out
		for k, v := range outputs {
			if st.ID != "" {
				ctx["steps."+st.ID+".outputs."+k] = v
			}
			run.outputs[k] = v
		}
		if err != nil {
			run.failed = true
		}
	}
	return run
}

func runStep(t *testing.T, i int, st ghStep, ctx map[string]string, bin, ws string) (string, map[string]string, error) {
	t.Helper()
	tmp := t.TempDir()
	script := filepath.Join(tmp, fmt.Sprintf("step%d.sh", i))
	os.WriteFile(script, []byte(st.Run), 0o644)
	outFile, pathFile := filepath.Join(tmp, "output"), filepath.Join(tmp, "path")
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Dir = ws
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"GITHUB_OUTPUT="+outFile, "GITHUB_PATH="+pathFile, "RUNNER_TEMP="+tmp)
	for k, v := range st.Env {
		cmd.Env = append(cmd.Env, k+"="+substitute(t, v, ctx))
	}
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	err := cmd.Run()
	return stdout.String(), readOutputs(outFile), err
}

// substitute expands ${{ name }} with the context; an expression the test
// does not know fails it, so the action cannot outgrow its test.
func substitute(t *testing.T, s string, ctx map[string]string) string {
	t.Helper()
	return expr.ReplaceAllStringFunc(s, func(m string) string {
		name := expr.FindStringSubmatch(m)[1]
		v, ok := ctx[name]
		if !ok && !strings.HasPrefix(name, "steps.") {
			t.Fatalf("expression %q is not known to the test", m)
		}
		return v
	})
}

// evalIf evaluates the conditions the action uses: always(), success(),
// `name == 'literal'`, `name != 'literal'`, joined by &&. A step without
// `if` runs when nothing failed before it.
func evalIf(t *testing.T, cond string, ctx map[string]string, failed bool) bool {
	t.Helper()
	if m := expr.FindStringSubmatch(cond); m != nil {
		cond = m[1]
	}
	if strings.TrimSpace(cond) == "" {
		return !failed
	}
	always := false
	result := true
	for _, term := range strings.Split(cond, "&&") {
		term = strings.TrimSpace(term)
		switch {
		case term == "always()":
			always = true
		case term == "success()":
			result = result && !failed
		case strings.Contains(term, "=="), strings.Contains(term, "!="):
			op := "=="
			if strings.Contains(term, "!=") {
				op = "!="
			}
			l, r, _ := strings.Cut(term, op)
			l, r = strings.TrimSpace(l), strings.Trim(strings.TrimSpace(r), "'")
			v, ok := ctx[l]
			if !ok {
				t.Fatalf("condition %q names %q, not known to the test", cond, l)
			}
			result = result && ((v == r) == (op == "=="))
		default:
			t.Fatalf("condition %q is not known to the test", cond)
		}
	}
	if !always && failed {
		return false
	}
	return result
}

func readOutputs(file string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(file)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			out[k] = v
		}
	}
	return out
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const (
	approvedPod = "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n  containers: [{name: app, image: registry.example.com/base/wolfi:latest}]\n"
	centosPod   = "apiVersion: v1\nkind: Pod\nmetadata: {name: legacy}\nspec:\n  containers: [{name: app, image: centos:7}]\n"
	denyUbuntu  = "apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata: {name: no-ubuntu}\nspec:\n  rules:\n    - {name: no-ubuntu, deny: [\"*ubuntu*\"]}\n"
	denyCentos  = "apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata: {name: no-centos}\nspec:\n  rules:\n    - {name: no-centos, deny: [\"*centos*\"]}\n"
)

func TestGitHubAction(t *testing.T) {
	schema := filepath.Join(repoRoot(t), "report", "testdata", "sarif-schema-2.1.0.json")
	tests := []struct {
		name     string
		files    map[string]string
		inputs   map[string]string
		exit     string
		failed   bool
		uploaded bool
		check    func(t *testing.T, r actionRun)
	}{
		{name: "denied base fails the job, SARIF uploaded", files: map[string]string{"k8s/legacy.yaml": centosPod},
			inputs: map[string]string{"paths": "k8s", "upload-sarif": "true"}, exit: "1", failed: true, uploaded: true,
			check: func(t *testing.T, r actionRun) { validateSARIFFile(t, schema, filepath.Join(r.dir, "baseguard.sarif")) }},
		{name: "approved base passes, no upload by default", files: map[string]string{"k8s/ok.yaml": approvedPod},
			inputs: map[string]string{"paths": "k8s"}, exit: "0"},
		{name: "several paths and policies, one per line", files: map[string]string{"a/ok.yaml": approvedPod, "b/legacy.yaml": centosPod, "p/1.yaml": denyUbuntu, "p/2.yaml": denyCentos},
			inputs: map[string]string{"paths": "a\nb", "policy": "p/1.yaml\np/2.yaml", "output": "json", "output-file": "report.json"}, exit: "1", failed: true,
			check: func(t *testing.T, r actionRun) {
				body, _ := os.ReadFile(filepath.Join(r.dir, "report.json"))
				if !strings.Contains(string(body), `"rule":"no-centos","result":"fail"`) || !strings.Contains(string(body), `"name":"ok"`) {
					t.Errorf("JSON report does not judge both paths with both policies:\n%s", body)
				}
			}},
		{name: "text output is printed to the log", files: map[string]string{"legacy.yaml": centosPod},
			inputs: map[string]string{"output": "text", "output-file": "report.txt"}, exit: "1", failed: true,
			check: func(t *testing.T, r actionRun) {
				if !strings.Contains(r.stdout, "FAIL") || !strings.Contains(r.stdout, "centos:7") {
					t.Errorf("text report not in the step log:\n%s", r.stdout)
				}
			}},
		{name: "a bad resolve input is an error", files: map[string]string{"ok.yaml": approvedPod},
			inputs: map[string]string{"resolve": "yes"}, failed: true},
		{name: "inputs are data, not shell", files: map[string]string{"ok.yaml": approvedPod},
			inputs: map[string]string{"paths": "ok.yaml $(touch pwned1) `touch pwned2`;touch pwned3", "args": "--color=never;touch pwned4"}, exit: "2", failed: true,
			check: func(t *testing.T, r actionRun) {
				for _, f := range []string{"pwned1", "pwned2", "pwned3", "pwned4", "touch"} {
					if _, err := os.Stat(filepath.Join(r.dir, f)); err == nil {
						t.Errorf("an input ran as shell: %s exists", f)
					}
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runAction(t, tt.files, tt.inputs)
			if r.outputs["exit-code"] != tt.exit {
				t.Errorf("exit-code = %q, want %q\n%s", r.outputs["exit-code"], tt.exit, r.stdout)
			}
			if r.failed != tt.failed {
				t.Errorf("job failed = %v, want %v\n%s", r.failed, tt.failed, r.stdout)
			}
			if uploaded := len(r.uses) > 0; uploaded != tt.uploaded {
				t.Errorf("upload-sarif ran = %v, want %v", uploaded, tt.uploaded)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}
