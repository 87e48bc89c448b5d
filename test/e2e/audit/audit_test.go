package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// auditOutput is `baseguard audit -o json` as scripts read it.
type auditOutput struct {
	Results []struct {
		Policy, Rule, Result, Message, Action, Container, Image string
		Resource                                                struct {
			APIVersion, Kind, Namespace, Name string
			Pods                              *int
		}
	}
	Summary   map[string]int
	Inventory struct {
		Containers, Compliant, Workloads, CompliantWorkloads, UnknownBase int
		Compliance                                                        float64
		Namespaces                                                        []nsStat
		Bases                                                             []baseStat
		Exceptions                                                        []exceptionUse
	}
}

type nsStat struct {
	Name                  string
	Containers, Compliant int
	Compliance            float64
}

type baseStat struct {
	Ref, Digest           string
	Containers, Workloads int
	Namespaces            []string
	Current               *bool
	Created               *time.Time
}

type exceptionUse struct {
	Policy, Name string
	Expires      *string
	Expired      bool
	Uses         int
}

// runAudit runs the binary with the test cluster, policy and time.
func runAudit(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	args = append([]string{"audit", "--kubeconfig", kubeconfig, "--policy", world.policyFile, "--now", auditTime.Format(time.RFC3339)}, args...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir()) // a cold cache of its own
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running baseguard: %v", err)
	}
	return out.String(), errOut.String(), code
}

func auditJSON(t *testing.T, args ...string) (auditOutput, int) {
	t.Helper()
	stdout, stderr, code := runAudit(t, append([]string{"-o", "json"}, args...)...)
	var out auditOutput
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("audit -o json: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	return out, code
}

// TestAuditInventory audits the whole test cluster: every number is the
// cluster's, counted by hand from the fixture.
func TestAuditInventory(t *testing.T) {
	requireEnv(t)
	world.pub.manifestRequests()
	out, code := auditJSON(t)
	// 15 containers, 7 distinct images of this registry: each manifest
	// (image, base, base tag) is asked for once, however many pods run it.
	reqs := world.pub.manifestRequests()
	if len(reqs) == 0 {
		t.Error("the audit asked the registry nothing")
	}
	for path, n := range reqs {
		if n != 1 {
			t.Errorf("%s asked %d times, want once", path, n)
		}
	}
	if code != 2 {
		t.Errorf("exit status %d, want 2 (the image of an unreachable registry could not be checked)", code)
	}
	inv := out.Inventory
	got := []int{inv.Containers, inv.Compliant, inv.Workloads, inv.CompliantWorkloads, inv.UnknownBase}
	// containers: shop 6 (web: 3 pods × app+init) + 1 (report) + 1 (debug);
	// payments 2 (db) + 1 (pay) + 1 (private); legacy 2 (agent) + 1 (gone).
	// Not compliant: debug (no base), pay (restricted wants wolfi), gone
	// (unresolvable). Workloads: web, report, debug, idle, db, pay,
	// private, agent, gone. Unknown base: debug, gone.
	if want := []int{15, 12, 9, 5, 2}; !slices.Equal(got, want) {
		t.Errorf("containers, compliant, workloads, compliant workloads, unknown base = %v, want %v", got, want)
	}
	if inv.Compliance != 0.8 {
		t.Errorf("compliance %v, want 0.8", inv.Compliance)
	}
	wantNS := []nsStat{{"legacy", 3, 2, 0.6667}, {"payments", 4, 3, 0.75}, {"shop", 8, 7, 0.875}}
	if d := cmp.Diff(wantNS, inv.Namespaces); d != "" {
		t.Errorf("namespaces (-want +got):\n%s", d)
	}
	pub, priv := world.pub.ref, world.priv.ref
	yes, no := new(true), new(false)
	wantBases := []baseStat{
		{pub("base/alpine:3.19"), world.digests["alpine"], 7, 2, []string{"payments", "shop"}, yes, &alpineNew},
		{pub("base/wolfi:1"), world.digests["wolfi"], 2, 1, []string{"payments"}, yes, &wolfiAt},
		{pub("library/centos:7"), world.digests["centos"], 2, 1, []string{"legacy"}, yes, &centosAt},
		{pub("base/alpine:3.19"), world.digests["alpine-old"], 1, 1, []string{"shop"}, no, &alpineOld},
		{priv("base/wolfi:1"), world.digests["private-wolfi"], 1, 1, []string{"payments"}, yes, &wolfiAt},
	}
	// Ranked by containers, then reference: the two single-container bases'
	// order follows the registries' ports.
	slices.SortStableFunc(wantBases, func(x, y baseStat) int {
		if x.Containers != y.Containers {
			return y.Containers - x.Containers
		}
		return strings.Compare(x.Ref, y.Ref)
	})
	if d := cmp.Diff(wantBases, inv.Bases); d != "" {
		t.Errorf("bases (-want +got):\n%s", d)
	}
	expires := "2027-01-31"
	if d := cmp.Diff([]exceptionUse{{"bases", "legacy-centos", &expires, false, 2}}, inv.Exceptions); d != "" {
		t.Errorf("exceptions (-want +got):\n%s", d)
	}
}

// resultKey names a result for comparison.
type resultKey struct {
	Workload, Container, Rule, Result string
	Pods                              int
}

func keys(out auditOutput) []resultKey {
	var ks []resultKey
	for _, r := range out.Results {
		pods := -1
		if r.Resource.Pods != nil {
			pods = *r.Resource.Pods
		}
		ks = append(ks, resultKey{r.Resource.APIVersion + " " + r.Resource.Kind + "/" + r.Resource.Namespace + "/" + r.Resource.Name, r.Container, r.Rule, r.Result, pods})
	}
	return ks
}

// TestAuditResults checks every result that is not a pass, and that
// results are per workload with its pod count, never per pod, and never
// of what does not run (a scaled-down ReplicaSet, a finished Job's pod).
func TestAuditResults(t *testing.T) {
	requireEnv(t)
	out, _ := auditJSON(t)
	var notPass []resultKey
	for _, k := range keys(out) {
		if k.Result != "pass" {
			notPass = append(notPass, k)
		}
	}
	want := []resultKey{
		{"v1 Pod/legacy/gone", "app", "approved-bases", "error", 1},
		{"v1 Pod/legacy/gone", "app", "deprecated-bases", "error", 1},
		{"apps/v1 DaemonSet/legacy/agent", "agent", "approved-bases", "skip", 2},
		{"apps/v1 DaemonSet/legacy/agent", "agent", "deprecated-bases", "skip", 2},
		{"apps/v1 Deployment/payments/pay", "app", "restricted-wolfi", "fail", 1},
		{"apps/v1 Deployment/shop/idle", "app", "approved-bases", "fail", 0},
		{"apps/v1 Deployment/shop/idle", "app", "deprecated-bases", "fail", 0},
		{"v1 Pod/shop/debug", "shell", "approved-bases", "fail", 1},
	}
	less := func(x, y resultKey) int {
		return strings.Compare(x.Workload+x.Container+x.Rule, y.Workload+y.Container+y.Rule)
	}
	slices.SortFunc(want, less)
	slices.SortFunc(notPass, less)
	if d := cmp.Diff(want, notPass); d != "" {
		t.Errorf("results other than pass (-want +got):\n%s", d)
	}
	// 9 workloads; web has two subjects (init and app), the others one;
	// restricted-wolfi applies to the three payments workloads.
	wantSummary := map[string]int{"pass": 15, "fail": 4, "warn": 0, "error": 2, "skip": 2}
	if d := cmp.Diff(wantSummary, out.Summary); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
	for _, r := range out.Results {
		if strings.Contains(r.Image, "orphan") && r.Resource.Kind != "Pod" {
			t.Errorf("the finished Job's image was judged: %+v", r)
		}
		if strings.Contains(r.Resource.Name, "web-") || r.Resource.Kind == "ReplicaSet" || r.Resource.Kind == "Job" {
			t.Errorf("a result names an intermediate owner or a pod, not the workload: %+v", r.Resource)
		}
	}
	for _, r := range out.Results {
		if r.Resource.Name == "gone" && !strings.Contains(r.Message, "127.0.0.1:1/team/gone:1") {
			t.Errorf("the unresolvable image's error does not name it: %s", r.Message)
		}
	}
}

// TestAuditBase keeps the workloads running on a base, at any depth.
func TestAuditBase(t *testing.T) {
	requireEnv(t)
	tests := []struct {
		pattern string
		want    []string
	}{
		{"*centos*", []string{"DaemonSet/legacy/agent", "Deployment/shop/idle"}},
		{"*/base/alpine:3.19*", []string{"CronJob/shop/report", "Deployment/payments/pay", "Deployment/shop/web"}},
		{world.pub.ref("team/api:1"), []string{"StatefulSet/payments/db"}},
		{"*/nothing:*", nil},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			out, _ := auditJSON(t, "--base", tt.pattern)
			var got []string
			for _, r := range out.Results {
				id := r.Resource.Kind + "/" + r.Resource.Namespace + "/" + r.Resource.Name
				if !slices.Contains(got, id) {
					got = append(got, id)
				}
			}
			slices.Sort(got)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("workloads (-want +got):\n%s", d)
			}
			if out.Inventory.Workloads != len(tt.want) {
				t.Errorf("inventory counts %d workloads, want %d", out.Inventory.Workloads, len(tt.want))
			}
		})
	}
}

// TestAuditNamespace audits one namespace.
func TestAuditNamespace(t *testing.T) {
	requireEnv(t)
	out, code := auditJSON(t, "-n", "payments")
	if code != 1 {
		t.Errorf("exit status %d, want 1 (an enforced rule failed)", code)
	}
	if inv := out.Inventory; inv.Containers != 4 || inv.Compliant != 3 || inv.Workloads != 3 || len(inv.Namespaces) != 1 {
		t.Errorf("payments: %+v", inv)
	}
}
