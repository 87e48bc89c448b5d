package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// helmBinary is helm from $BASEGUARD_HELM (hack/test.sh sets it), else
// hack/helm.sh's cache. A chart test without helm fails: it never skips.
func helmBinary(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BASEGUARD_HELM")
	if dir == "" {
		out, err := exec.Command(filepath.Join(repoRoot, "hack", "helm.sh"), "--if-cached").Output()
		if err != nil {
			t.Fatal("helm is not built: run hack/helm.sh (hack/test.sh does) or set BASEGUARD_HELM to its directory")
		}
		dir = string(bytes.TrimSpace(out))
	}
	bin := filepath.Join(dir, "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm not found in $BASEGUARD_HELM: %v", err)
	}
	return bin
}

// helm runs the real helm with its own empty home, in the repository.
func helm(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, helmBinary(t), args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// TestDeployMatchesChart: deploy/baseguard.yaml is what
// hack/render-deploy.sh renders from the chart today, with the real helm.
func TestDeployMatchesChart(t *testing.T) {
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "render-deploy.sh"), "--check")
	cmd.Env = append(os.Environ(), "HELM="+helmBinary(t))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("deploy/baseguard.yaml does not match the chart: %v\n%s", err, out)
	}
}

const chartDir = "charts/baseguard"

// TestChartLints: `helm lint --strict` of the chart with its defaults and
// with each documented toggle.
func TestChartLints(t *testing.T) {
	for _, tc := range chartToggles {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"lint", "--strict", chartDir, "--kube-version", kubeVersion}, tc.args()...)
			if stdout, stderr, err := helm(t, args...); err != nil {
				t.Errorf("helm lint: %v\n%s%s", err, stdout, stderr)
			}
		})
	}
}

// TestChartRefusesBadValues: values.schema.json makes `helm template`
// (and so `helm install`) and `helm lint` fail on values of the wrong
// type, an unknown key or an unknown choice, naming the value.
func TestChartRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		name, set, says string
	}{
		{"replica count not a number", "replicaCount=two", "replicaCount"},
		{"unknown failure policy", "webhook.failurePolicy=Sometimes", "failurePolicy"},
		{"timeout above the API server's 30s", "webhook.timeoutSeconds=60", "timeoutSeconds"},
		{"memory budget not a quantity", "server.memoryBudget=lots", "memoryBudget"},
		{"probe port the webhook's", "server.probePort=8443", "probePort"},
		{"probe port out of range", "server.probePort=70000", "probePort"},
		{"interval not a duration", "audit.interval=10 minutes", "interval"},
		{"log level", "server.logLevel=verbose", "logLevel"},
		{"pull policy", "image.pullPolicy=Sometimes", "pullPolicy"},
		{"misspelt key", "webhok.failurePolicy=Fail", "webhok"},
		{"misspelt nested key", "certManager.enable=true", "enable"},
		{"caBundle not base64", "tls.caBundle=-----BEGIN CERTIFICATE-----", "caBundle"},
		{"pull secret as a string", "imagePullSecrets[0]=regcred", "imagePullSecrets"},
		{"toggle as a string", "networkPolicy.enabled=yes", "enabled"},
		{"workload without a resource", "webhook.workloads[0].apiGroup=ci.example.com", "resource"},
		{"issuer kind", "certManager.issuerRef.kind=Vault", "kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// --set-string keeps "yes" and "two" strings, as a values file would.
			flag := "--set"
			if strings.HasPrefix(tc.set, "networkPolicy") || strings.HasPrefix(tc.set, "replicaCount") {
				flag = "--set-string"
			}
			for _, cmd := range [][]string{
				{"template", "baseguard", chartDir, "--kube-version", kubeVersion, flag, tc.set},
				{"lint", chartDir, "--kube-version", kubeVersion, flag, tc.set},
			} {
				stdout, stderr, err := helm(t, cmd...)
				if err == nil {
					t.Errorf("helm %s with %s succeeded; want it refused", cmd[0], tc.set)
					continue
				}
				// helm lint reports on stdout, helm template on stderr.
				if !strings.Contains(stdout+stderr, "/"+tc.says) && !strings.Contains(stdout+stderr, "'"+tc.says+"'") {
					t.Errorf("helm %s with %s: the error does not name %q:\n%s%s", cmd[0], tc.set, tc.says, stdout, stderr)
				}
			}
		})
	}
}

// kubeVersion is the e2e API server's.
const kubeVersion = "1.37.2"

// chartToggle is a documented value set.
type chartToggle struct {
	name string
	set  []string
	// objects the dry run must create, besides the defaults' (kind/name
	// as kubectl prints them)
	objects []string
}

func (c chartToggle) args() []string {
	var out []string
	for _, s := range c.set {
		out = append(out, "--set", s)
	}
	return out
}

var chartToggles = []chartToggle{
	{name: "defaults", objects: []string{"secret/baseguard-tls", "role.rbac.authorization.k8s.io/baseguard-certs", "clusterrole.rbac.authorization.k8s.io/baseguard-certs"}},
	{name: "cert-manager", set: []string{"certManager.enabled=true"},
		objects: []string{"certificate.cert-manager.io/baseguard-serving-cert", "issuer.cert-manager.io/baseguard-ca"}},
	{name: "cert-manager with an issuer", set: []string{"certManager.enabled=true", "certManager.issuerRef.name=corp-ca", "certManager.issuerRef.kind=ClusterIssuer"},
		objects: []string{"certificate.cert-manager.io/baseguard-serving-cert"}},
	{name: "own certificate", set: []string{"tls.caBundle=Cg==", "tls.secretName=my-tls"}},
	{name: "pull secrets", set: []string{"imagePullSecrets[0].name=regcred", "server.resolve=true", "rbac.readPullSecrets=true"},
		objects: []string{"mutatingwebhookconfiguration.admissionregistration.k8s.io/baseguard"}},
	{name: "pinDigests off", set: []string{"server.resolve=true", "webhook.pinDigests=false"}},
	{name: "audit off", set: []string{"audit.enabled=false"}},
	{name: "ServiceMonitor", set: []string{"serviceMonitor.enabled=true"},
		objects: []string{"servicemonitor.monitoring.coreos.com/baseguard"}},
	{name: "NetworkPolicy", set: []string{"networkPolicy.enabled=true", "networkPolicy.from[0].ipBlock.cidr=10.0.0.0/24"},
		objects: []string{"networkpolicy.networking.k8s.io/baseguard"}},
	{name: "role bindings and workloads", set: []string{"rbac.readRoleBindings=true", "webhook.workloads[0].apiGroup=ci.example.com", "webhook.workloads[0].resource=runners"}},
}

// TestChartDryRuns renders the chart with the real helm for its defaults
// and each documented toggle and applies the result to the real API
// server with a server-side dry run: every object is valid for this
// Kubernetes version, the pod template meets the namespace's `restricted`
// Pod Security level, and the toggle's own objects are there.
func TestChartDryRuns(t *testing.T) {
	requireEnv(t)
	namespace(t, "baseguard", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	if _, stderr, err := kubectl(t, "apply", "--server-side", "-f", filepath.Join(repoRoot, chartDir, "crds")); err != nil {
		t.Fatalf("applying the chart's CRDs: %v\n%s", err, stderr)
	}
	installCRDs(t, certManagerCRDs+"---"+serviceMonitorCRD)
	for _, tc := range chartToggles {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"template", "baseguard", chartDir, "--namespace", "baseguard", "--kube-version", kubeVersion}, tc.args()...)
			manifest, stderr, err := helm(t, args...)
			if err != nil {
				t.Fatalf("helm template: %v\n%s", err, stderr)
			}
			file := filepath.Join(t.TempDir(), "baseguard.yaml")
			if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, err := kubectl(t, "apply", "--server-side", "--dry-run=server", "-f", file)
			if err != nil {
				t.Fatalf("kubectl apply --dry-run=server: %v\n%s%s", err, stdout, stderr)
			}
			if strings.Contains(stderr, "PodSecurity") {
				t.Errorf("the pod template violates Pod Security restricted:\n%s", stderr)
			}
			if got, want := strings.Count(stdout, "serverside-applied (server dry run)"), strings.Count("\n"+manifest, "\nkind: "); got != want {
				t.Errorf("the dry run applied %d objects, the chart rendered %d:\n%s", got, want, stdout)
			}
			for _, obj := range append([]string{"serviceaccount/baseguard", "deployment.apps/baseguard", "service/baseguard",
				"validatingwebhookconfiguration.admissionregistration.k8s.io/baseguard"}, tc.objects...) {
				if !strings.Contains(stdout, obj+" serverside-applied") {
					t.Errorf("the dry run did not apply %s:\n%s", obj, stdout)
				}
			}
		})
	}
}

// installCRDs creates CRDs for real (a dry run of an object needs its
// CRD: cert-manager's and the ServiceMonitor's) and waits until they are
// served; they are removed after the test.
func installCRDs(t *testing.T, crds string) {
	t.Helper()
	file := applyUntilCleanup(t, "CRDs", crds)
	if _, stderr, err := kubectl(t, "wait", "--for=condition=Established", "--timeout=30s", "-f", file); err != nil {
		t.Fatalf("waiting for CRDs: %v\n%s", err, stderr)
	}
}

// certManagerCRDs are cert-manager's Certificate and Issuer, their schema
// left open: enough for the API server to accept the chart's objects.
const certManagerCRDs = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: certificates.cert-manager.io}
spec:
  group: cert-manager.io
  scope: Namespaced
  names: {kind: Certificate, plural: certificates, singular: certificate, listKind: CertificateList}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: issuers.cert-manager.io}
spec:
  group: cert-manager.io
  scope: Namespaced
  names: {kind: Issuer, plural: issuers, singular: issuer, listKind: IssuerList}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

// serviceMonitorCRD is the Prometheus Operator's ServiceMonitor, its
// schema left open.
const serviceMonitorCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: ServiceMonitor, plural: servicemonitors, singular: servicemonitor, listKind: ServiceMonitorList}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

// applyUntilCleanup applies docs (what, in errors) with a server-side
// `kubectl apply` and deletes them after the test; it returns their file.
func applyUntilCleanup(t *testing.T, what, docs string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "applied.yaml")
	if err := os.WriteFile(file, []byte(docs), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := kubectl(t, "apply", "--server-side", "-f", file); err != nil {
		t.Fatalf("applying %s: %v\n%s", what, err, stderr)
	}
	t.Cleanup(func() { kubectl(t, "delete", "--ignore-not-found", "-f", file) })
	return file
}
