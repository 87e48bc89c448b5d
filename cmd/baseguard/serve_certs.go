package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/baseguard/baseguard/admission/certs"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// certServeOptions are serve's flags for a serving certificate it keeps
// itself in a Secret.
type certServeOptions struct {
	secret     string
	namespace  string
	dir        string
	names      []string
	validating []string
	mutating   []string
	validity   time.Duration
	caValidity time.Duration
}

func (c *certServeOptions) register(f *pflag.FlagSet) {
	f.StringVar(&c.secret, "cert-secret", "", "keep the serving certificate in this Secret (a CA and a pair it signs, renewed before they expire; replicas share it) instead of --tls-cert-file and --tls-private-key-file")
	f.StringVar(&c.namespace, "cert-namespace", "", "namespace of --cert-secret (default: $POD_NAMESPACE)")
	f.StringVar(&c.dir, "cert-dir", "", "with --cert-secret, the directory the certificate files are written to (an emptyDir in a pod)")
	f.StringArrayVar(&c.names, "cert-dns-name", nil, "with --cert-secret, a DNS name or IP address the webhook is called at (repeatable; its Service's <name>.<namespace>.svc)")
	f.StringArrayVar(&c.validating, "validating-webhook-configuration", nil, "with --cert-secret, a ValidatingWebhookConfiguration whose caBundle is kept set to the CA (repeatable)")
	f.StringArrayVar(&c.mutating, "mutating-webhook-configuration", nil, "with --cert-secret, a MutatingWebhookConfiguration whose caBundle is kept set to the CA (repeatable)")
	f.DurationVar(&c.validity, "cert-validity", certs.DefaultValidity, "with --cert-secret, how long a serving certificate is valid (renewed with a third left)")
	f.DurationVar(&c.caValidity, "ca-validity", certs.DefaultCAValidity, "with --cert-secret, how long a CA is valid (renewed with a third left, the old one trusted until it expires)")
}

// startCerts, with --cert-secret, puts the serving certificate in place
// (Secret, caBundles, files) before it returns, sets --tls-cert-file and
// --tls-private-key-file to its files, and keeps it so until ctx ends.
// Until then serve does not listen: a replica is ready only once
// kube-apiserver trusts its certificate.
func (o *serveOptions) startCerts(ctx context.Context, cfg *rest.Config, log *slog.Logger) error {
	c := &o.certs
	if c.secret == "" {
		if o.certFile == "" || o.keyFile == "" {
			return errors.New("give --tls-cert-file and --tls-private-key-file, or --cert-secret to keep a certificate in a Secret")
		}
		return nil
	}
	if o.certFile != "" || o.keyFile != "" {
		return errors.New("--cert-secret and --tls-cert-file/--tls-private-key-file exclude each other")
	}
	if cfg == nil {
		return errors.New("--cert-secret needs a cluster: run in a pod or give --kubeconfig")
	}
	ns := c.namespace
	if ns == "" {
		ns = os.Getenv("POD_NAMESPACE")
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("making a Kubernetes client: %w", err)
	}
	ctl, err := certs.New(certs.Options{
		Client: client, Namespace: ns, SecretName: c.secret, Names: c.names, Dir: c.dir,
		ValidatingWebhooks: c.validating, MutatingWebhooks: c.mutating,
		CAValidity: c.caValidity, Validity: c.validity, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("--cert-secret: %w", err)
	}
	due, err := ctl.SyncUntilDone(ctx)
	if err != nil {
		return err
	}
	log.Info("serving certificate in place", "secret", ns+"/"+c.secret, "dir", c.dir)
	o.certFile, o.keyFile = ctl.CertFile(), ctl.KeyFile()
	go ctl.Run(ctx, due)
	return nil
}
