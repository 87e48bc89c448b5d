package parity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/test/toolcache"

	"github.com/baseguard/baseguard/internal/manifestgen"
	"github.com/baseguard/baseguard/subject"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

var (
	skipReason string
	binDir     string
	kubeconfig string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	var err error
	binDir, err = toolcache.Find("KUBEBUILDER_ASSETS", "k8s/*/bin", "hack/k8s-binaries.sh", "etcd", "kube-apiserver", "kubectl")
	if err != nil {
		skipReason = err.Error()
	}
	if skipReason != "" {
		if os.Getenv("BASEGUARD_E2E") != "" {
			fmt.Fprintln(os.Stderr, "parity: BASEGUARD_E2E is set but "+skipReason)
			return 1
		}
		return m.Run()
	}
	env := &envtest.Environment{BinaryAssetsDirectory: binDir, ControlPlaneStartTimeout: time.Minute}
	if _, err := env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "parity: starting kube-apiserver and etcd:", err)
		return 1
	}
	defer env.Stop()
	user, err := env.AddUser(envtest.User{Name: "parity", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "parity: adding a kubectl user:", err)
		return 1
	}
	kc, err := user.KubeConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "parity:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "baseguard-parity-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "parity:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "parity:", err)
		return 1
	}
	return m.Run()
}

// TestKubectlParity writes generated documents to files, has kubectl
// create them with a client-side dry run, and compares the images of what
// kubectl would apply with what baseguard reads from the same files.
func TestKubectlParity(t *testing.T) {
	if skipReason != "" {
		t.Skip(skipReason)
	}
	dir := t.TempDir()
	docs := manifestgen.Documents(400, 3)
	refused := map[int]bool{}
	var judged []string
	for i, d := range docs {
		name := filepath.Join(dir, fmt.Sprintf("doc-%03d.yaml", i))
		if err := os.WriteFile(name, []byte(d.Src), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := baseguardImages(name)
		switch {
		case d.Refused != "":
			refused[i] = true
			if err == nil || !strings.Contains(err.Error(), d.Refused) {
				t.Errorf("%s: error = %v, want one saying %q", name, err, d.Refused)
			}
		case err != nil:
			t.Errorf("%s: %v", name, err)
		default:
			judged = append(judged, got...)
		}
	}
	applied, err := kubectlImages(dir, refused)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(judged)
	if diff := cmp.Diff(applied, judged); diff != "" {
		t.Errorf("kubectl applies (-) what baseguard does not judge, or baseguard judges (+) what kubectl does not apply:\n%s", diff)
	}
	if len(applied) < 500 {
		t.Errorf("only %d images applied by kubectl: the generator covers too little", len(applied))
	}
}

func baseguardImages(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	err = subject.ReadManifests(file, f, subject.Options{}, func(r *subject.Resource, subs []subject.Subject) error {
		for _, s := range subs {
			out = append(out, r.Kind+"/"+r.Name+" "+s.Field+"="+s.Image)
		}
		return nil
	})
	return out, err
}

// kubectlImages runs kubectl on every file of dir and returns the images
// of the objects it would create, leaving out those of refused documents.
func kubectlImages(dir string, refused map[int]bool) ([]string, error) {
	cmd := exec.Command(filepath.Join(binDir, "kubectl"), "create", "--dry-run=client", "--validate=false", "-o", "json", "-f", dir, "--kubeconfig", kubeconfig)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("kubectl: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(&stdout)
	var out []string
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading kubectl's output: %w", err)
		}
		objs := []map[string]any{obj}
		if items, ok := obj["items"].([]any); ok {
			objs = objs[:0]
			for _, it := range items {
				objs = append(objs, it.(map[string]any))
			}
		}
		for _, o := range objs {
			if refused[docIndex(o)] {
				continue
			}
			out = append(out, images(o)...)
		}
	}
	sort.Strings(out)
	return out, nil
}

// docIndex is the generated document an object came from (names are
// o<doc> or o<doc>-<n>).
func docIndex(o map[string]any) int {
	meta, _ := o["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	name, _, _ = strings.Cut(strings.TrimPrefix(name, "o"), "-")
	i, err := strconv.Atoi(name)
	if err != nil {
		return -1
	}
	return i
}

// images reads an object kubectl printed: "Kind/name field=image".
func images(o map[string]any) []string {
	kind, _ := o["kind"].(string)
	apiVersion, _ := o["apiVersion"].(string)
	w, ok := subject.FindWorkload(apiVersion, kind, nil)
	if !ok {
		return nil
	}
	meta, _ := o["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	var node any = o
	for _, k := range w.SpecPath() {
		m, _ := node.(map[string]any)
		node = m[k]
	}
	spec, _ := node.(map[string]any)
	prefix := strings.Join(w.SpecPath(), ".")
	var out []string
	for _, list := range append(append([]subject.List(nil), subject.Lists...), subject.Volumes) {
		entries, _ := spec[string(list)].([]any)
		for i, e := range entries {
			m, _ := e.(map[string]any)
			field, img := "image", m["image"]
			if list == subject.Volumes {
				src, _ := m["image"].(map[string]any)
				field, img = "image.reference", src["reference"]
			}
			if s, ok := img.(string); ok {
				out = append(out, fmt.Sprintf("%s/%s %s.%s[%d].%s=%s", kind, name, prefix, list, i, field, s))
			}
		}
	}
	return out
}
