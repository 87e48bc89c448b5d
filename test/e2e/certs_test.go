package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/admission/certs"
	"github.com/baseguard/baseguard/admission/pki"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	certsNamespace = "e2e-certs"        // the Secret's
	certsJudged    = "e2e-certs-judged" // the webhooks'
	certsRelease   = "baseguard-e2e-certs"
	certsSecret    = certsRelease + "-tls" // the chart's names for that release
	certsConfig    = certsRelease
)

// certReplica is one `baseguard serve --cert-secret` process.
type certReplica struct {
	addr   string
	stderr *bytes.Buffer
}

// startCertReplica runs the real binary keeping its certificate in the
// shared Secret, short-lived so that renewals happen within the test.
func startCertReplica(t *testing.T, kubeconfig, addr string, validity, caValidity time.Duration) *certReplica {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(baseguardBinary(t), "serve", "--listen", addr, "--log-level", "info", "--log-format", "text",
		"--kubeconfig", kubeconfig, "--cert-secret", certsSecret, "--cert-namespace", certsNamespace,
		"--cert-dir", filepath.Join(dir, "tls"), "--cert-dns-name", "127.0.0.1",
		"--validating-webhook-configuration", certsConfig, "--mutating-webhook-configuration", certsConfig,
		"--cert-validity", validity.String(), "--ca-validity", caValidity.String(), "--reload-interval", "200ms")
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dir, "KUBERNETES_SERVICE_HOST=")
	r := &certReplica{addr: addr, stderr: new(bytes.Buffer)}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Logf("baseguard serve %s:\n%s", addr, r.stderr)
		}
	})
	return r
}

// served returns the certificate the replica presents, verified against
// bundle for 127.0.0.1 as kube-apiserver verifies it.
func (r *certReplica) served(bundle []byte) (*x509.Certificate, error) {
	pool, err := pki.CertPool(bundle)
	if err != nil {
		return nil, err
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", r.addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// registerCertWebhooks registers a validating and a mutating
// configuration for certsJudged at addr with no caBundle, as the chart
// renders them when baseguard keeps its own certificate.
func registerCertWebhooks(t *testing.T, addr string) {
	t.Helper()
	ctx := context.Background()
	only := &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": certsJudged}}
	rules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
	}}
	fail, none := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone
	validate, mutate := "https://"+addr+admission.PathValidate, "https://"+addr+admission.PathMutate
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: certsConfig},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "validate.baseguard.dev", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &validate},
			Rules: rules, FailurePolicy: &fail, SideEffects: &none, NamespaceSelector: only, AdmissionReviewVersions: []string{"v1"},
		}},
	}
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: certsConfig},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: "pin.baseguard.dev", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &mutate},
			Rules: rules, FailurePolicy: &fail, SideEffects: &none, NamespaceSelector: only, AdmissionReviewVersions: []string{"v1"},
		}},
	}
	api := clientset.AdmissionregistrationV1()
	if _, err := api.ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.ValidatingWebhookConfigurations().Delete(ctx, certsConfig, metav1.DeleteOptions{}) })
	if _, err := api.MutatingWebhookConfigurations().Create(ctx, mwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.MutatingWebhookConfigurations().Delete(ctx, certsConfig, metav1.DeleteOptions{}) })
}

// caBundles returns the caBundle of the validating and the mutating
// configuration.
func caBundles(t *testing.T) (validating, mutating []byte) {
	t.Helper()
	ctx := context.Background()
	v, err := clientset.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, certsConfig, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := clientset.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, certsConfig, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v.Webhooks[0].ClientConfig.CABundle, m.Webhooks[0].ClientConfig.CABundle
}

func certSecret(t *testing.T) *corev1.Secret {
	t.Helper()
	s, err := clientset.CoreV1().Secrets(certsNamespace).Get(context.Background(), certsSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitListening waits until the replica takes TLS connections: serve
// listens only once its certificate is in place and trusted. (Verified
// against the Secret's CA afterwards.)
func waitListening(t *testing.T, r *certReplica) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := tls.Dial("tcp", r.addr, &tls.Config{InsecureSkipVerify: true})
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("baseguard serve %s not listening after 60s: %v\n%s", r.addr, err, r.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// judge creates a pod in certsJudged as a dry run: through both webhooks,
// called over TLS with the patched caBundle.
func judge(image string) error {
	p := pod("probe", image)
	_, err := clientset.CoreV1().Pods(certsJudged).Create(context.Background(), p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}

// TestServeKeepsItsOwnCertificate runs two replicas of `baseguard serve
// --cert-secret` on the real API server from the chart's empty Secret,
// with the chart's RBAC and nothing more: one Secret wins and both serve its pair; both webhook
// configurations get its CA as caBundle; kube-apiserver calls the webhooks
// over TLS with it (a denied image refused by baseguard, an approved one
// admitted); a caBundle reset is set again; and the serving pair, then the
// CA, are renewed before they expire without a review failing.
func TestServeKeepsItsOwnCertificate(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	namespace(t, certsNamespace, nil)
	namespace(t, certsJudged, nil)
	// The chart's empty Secret and its RBAC for it, as rendered, and the
	// replicas run as the chart's service account: nothing more.
	rendered, stderr, err := helm(t, "template", certsRelease, chartDir, "--namespace", certsNamespace, "--kube-version", kubeVersion, "--show-only", "templates/certs.yaml")
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr)
	}
	applyUntilCleanup(t, "the chart's Secret and RBAC", rendered)
	asChart := kubeconfigFor(t, "system:serviceaccount:"+certsNamespace+":"+certsRelease)
	addrs := []string{freeAddr(t), freeAddr(t)}
	registerCertWebhooks(t, addrs[0])

	// CA 60s (renewed at 40s), pairs 30s (renewed at 20s).
	const validity, caValidity = 30 * time.Second, 60 * time.Second
	replicas := []*certReplica{startCertReplica(t, asChart, addrs[0], validity, caValidity), startCertReplica(t, asChart, addrs[1], validity, caValidity)}
	for _, r := range replicas {
		waitListening(t, r)
	}
	start := time.Now()

	sec := certSecret(t)
	bundle := sec.Data[certs.KeyCABundle]
	t.Run("the caBundle of both configurations is the Secret's CA", func(t *testing.T) {
		v, m := caBundles(t)
		if !bytes.Equal(v, bundle) || !bytes.Equal(m, bundle) {
			t.Errorf("caBundle: validating %q, mutating %q; want the Secret's %q", v, m, bundle)
		}
	})
	t.Run("one Secret wins: both replicas serve its pair", func(t *testing.T) {
		want, err := parsePEMCert(sec.Data[certs.KeyCert])
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range replicas {
			got, err := r.served(bundle)
			if err != nil {
				t.Fatalf("%s: %v", r.addr, err)
			}
			if !got.Equal(want) {
				t.Errorf("%s serves serial %s, the Secret holds %s", r.addr, got.SerialNumber, want.SerialNumber)
			}
		}
	})
	t.Run("kube-apiserver calls the webhooks over TLS", func(t *testing.T) {
		if err := judge("centos:7"); err == nil || !strings.Contains(err.Error(), `admission webhook "validate.baseguard.dev" denied the request`) {
			t.Errorf("centos:7: want baseguard's denial, got %v", err)
		}
		if err := judge("registry.example.com/base/wolfi:latest"); err != nil {
			t.Errorf("an approved image: %v", err)
		}
	})
	t.Run("a caBundle reset is set again", func(t *testing.T) {
		api := clientset.AdmissionregistrationV1().ValidatingWebhookConfigurations()
		v, err := api.Get(ctx, certsConfig, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v.Webhooks[0].ClientConfig.CABundle = nil // what `helm upgrade` of a hand-edited chart may do
		if _, err := api.Update(ctx, v, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if got, _ := caBundles(t); bytes.Equal(got, certSecret(t).Data[certs.KeyCABundle]) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the caBundle was not set again within 10s")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("renewals before expiry, no review failing", func(t *testing.T) {
		firstCA, err := parsePEMCert(bundle)
		if err != nil {
			t.Fatal(err)
		}
		firstLeaf, _ := parsePEMCert(sec.Data[certs.KeyCert])
		var leafRenewed, caRenewed bool
		failures := 0
		for time.Since(start) < caValidity-10*time.Second && !(leafRenewed && caRenewed) {
			if err := judge("registry.example.com/base/wolfi:latest"); err != nil {
				failures++
				t.Errorf("%s in: an approved image: %v", time.Since(start).Round(time.Second), err)
			}
			v, _ := caBundles(t)
			for _, r := range replicas {
				leaf, err := r.served(v)
				if err != nil {
					failures++
					t.Errorf("%s in: %s does not verify with the caBundle: %v", time.Since(start).Round(time.Second), r.addr, err)
					continue
				}
				if !leaf.Equal(firstLeaf) && bytes.Equal(leaf.RawIssuer, firstCA.RawSubject) && leaf.CheckSignatureFrom(firstCA) == nil {
					leafRenewed = true
				}
				if leaf.CheckSignatureFrom(firstCA) != nil {
					caRenewed = true
					if n := bytes.Count(v, []byte("BEGIN CERTIFICATE")); n != 2 {
						t.Errorf("after the CA's renewal the caBundle holds %d CAs, want the new and the old", n)
					}
				}
			}
			if failures > 5 {
				t.FailNow()
			}
			time.Sleep(250 * time.Millisecond)
		}
		if !leafRenewed {
			t.Error("the serving pair was not renewed by the same CA before the CA's renewal")
		}
		if !caRenewed {
			t.Errorf("the CA was not renewed within %s", time.Since(start).Round(time.Second))
		}
	})
}

// parsePEMCert parses the first certificate of a PEM bundle.
func parsePEMCert(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}
