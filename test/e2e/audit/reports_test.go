package audit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

var reportsGVR = schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "policyreports"}

var (
	crdsOnce sync.Once
	crdsErr  error
)

// installReportCRDs installs the CRDs of deploy/, once.
func installReportCRDs(t *testing.T) {
	t.Helper()
	crdsOnce.Do(func() {
		_, crdsErr = envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: []string{filepath.Join(repoRoot, "deploy", "policyreport-crds.yaml")}})
	})
	if crdsErr != nil {
		t.Fatalf("installing the PolicyReport CRDs: %v", crdsErr)
	}
}

// TestPolicyReportCRDsShipTwice keeps the chart's CRDs and deploy/'s the
// same.
func TestPolicyReportCRDsShipTwice(t *testing.T) {
	a, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "policyreport-crds.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, "charts", "baseguard", "crds", "policyreports.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("deploy/policyreport-crds.yaml and charts/baseguard/crds/policyreports.yaml differ")
	}
}

func reports(t *testing.T, ns string) []unstructured.Unstructured {
	t.Helper()
	list, err := dyn.Resource(reportsGVR).Namespace(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing PolicyReports: %v", err)
	}
	return list.Items
}

// resultsOf lists a report's results as workload/rule/result.
func resultsOf(t *testing.T, r unstructured.Unstructured) []string {
	t.Helper()
	items, _, _ := unstructured.NestedSlice(r.Object, "results")
	var out []string
	for _, it := range items {
		m := it.(map[string]any)
		res := m["resources"].([]any)[0].(map[string]any)
		props := m["properties"].(map[string]any)
		if m["source"] != "baseguard" || props["image"] == "" || props["container"] == "" {
			t.Errorf("result without source or properties: %v", m)
		}
		out = append(out, res["kind"].(string)+"/"+res["name"].(string)+" "+m["rule"].(string)+" "+m["result"].(string))
	}
	return out
}

// TestWriteReports writes PolicyReports: refused with a clear message
// without the CRDs; then one per namespace, rewritten in place, emptied of
// deleted workloads, and deleted with a namespace's last workload.
func TestWriteReports(t *testing.T) {
	requireEnv(t)
	_, stderr, code := runAudit(t, "--offline", "--write-reports")
	if code != 2 || !strings.Contains(stderr, "install the CRDs") {
		t.Fatalf("without the CRDs: exit %d, stderr %q; want 2 and a message to install them", code, stderr)
	}
	installReportCRDs(t)

	_, stderr, code = runAudit(t, "--write-reports")
	if code != 2 || !strings.Contains(stderr, "wrote 3 PolicyReports") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	checkShopReport(t)

	ctx := context.Background()
	ns := "reports"
	if _, err := clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"keep", "drop"} {
		if _, err := createPod(ctx, ns, p, nil, podSpecOf([]corev1.Container{{Name: "app", Image: world.pub.ref("team/web:1")}}, nil)); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // the second run rewrites, never adds
		if _, stderr, code := runAudit(t, "-n", ns, "--write-reports"); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		got := reports(t, ns)
		if len(got) != 1 || len(resultsOf(t, got[0])) != 4 {
			t.Fatalf("want one report with 4 results (2 pods × 2 rules), got %d reports: %v", len(got), got)
		}
	}
	if err := clientset.CoreV1().Pods(ns).Delete(ctx, "drop", metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		t.Fatal(err)
	}
	runAudit(t, "-n", ns, "--write-reports")
	got := reports(t, ns)
	if len(got) != 1 || strings.Contains(strings.Join(resultsOf(t, got[0]), "\n"), "drop") || len(resultsOf(t, got[0])) != 2 {
		t.Errorf("after deleting pod drop: %v", resultsOf(t, got[0]))
	}
	if err := clientset.CoreV1().Pods(ns).Delete(ctx, "keep", metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		t.Fatal(err)
	}
	runAudit(t, "-n", ns, "--write-reports")
	if got := reports(t, ns); len(got) != 0 {
		t.Errorf("the report of a namespace without workloads was kept: %v", got)
	}
	if got := reports(t, "shop"); len(got) != 1 {
		t.Errorf("an audit of one namespace touched another's report: %d in shop", len(got))
	}
}

// checkShopReport checks the shop namespace's report: its label, every
// result of the namespace once, the summary.
func checkShopReport(t *testing.T) {
	t.Helper()
	got := reports(t, "shop")
	if len(got) != 1 {
		t.Fatalf("want one report in shop, got %d", len(got))
	}
	r := got[0]
	if r.GetName() != "baseguard" || r.GetLabels()["app.kubernetes.io/managed-by"] != "baseguard" {
		t.Errorf("report %s labels %v", r.GetName(), r.GetLabels())
	}
	results := resultsOf(t, r)
	// web: 2 subjects × 3 rules... restricted-wolfi applies only in
	// payments: web 2×2, report 2, debug 2, idle 2.
	if len(results) != 10 {
		t.Errorf("%d results, want 10: %v", len(results), results)
	}
	for _, want := range []string{"Deployment/idle approved-bases fail", "Pod/debug approved-bases fail", "CronJob/report deprecated-bases pass"} {
		if !strings.Contains(strings.Join(results, "\n"), want) {
			t.Errorf("no result %q in %v", want, results)
		}
	}
	sum, _, _ := unstructured.NestedMap(r.Object, "summary")
	if sum["pass"] != int64(7) || sum["fail"] != int64(3) {
		t.Errorf("summary %v, want 7 pass, 3 fail", sum)
	}
}
