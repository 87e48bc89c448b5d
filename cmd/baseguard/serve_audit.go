package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/audit"
	"github.com/baseguard/baseguard/policy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
)

// defaultLeaseNamespace holds the audit Lease outside a pod, when
// $POD_NAMESPACE is not set.
const defaultLeaseNamespace = "default"

// auditServeOptions are serve's flags for the background audit.
type auditServeOptions struct {
	interval       time.Duration
	leaseNamespace string
	writeReports   bool
	metrics        *audit.Metrics
}

func (a *auditServeOptions) register(f *pflag.FlagSet) {
	f.DurationVar(&a.interval, "audit-interval", 0, "audit the cluster in the background this often (0: never); replicas elect one auditor on a Lease; PolicyReports and Prometheus gauges")
	f.StringVar(&a.leaseNamespace, "audit-lease-namespace", "", "namespace of the audit Lease (default: $POD_NAMESPACE, else default)")
	f.BoolVar(&a.writeReports, "audit-write-reports", true, "with --audit-interval, write PolicyReports after each audit")
}

// registry is the metrics registry serve exports: nil (the webhook makes
// its own) without the background audit, else one with the audit's gauges.
func (a *auditServeOptions) registry() *prometheus.Registry {
	if a.interval <= 0 {
		return nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics = audit.NewMetrics(reg)
	return reg
}

// startAudit starts the background audit, when asked for, with the
// webhook's resolver (and caches) and policies in force (files and policy
// objects).
func (o *serveOptions) startAudit(ctx context.Context, cfg *rest.Config, resolver admission.Resolver, policies func() *policy.Set, log *slog.Logger) error {
	a := &o.audit
	if a.interval <= 0 {
		return nil
	}
	if cfg == nil {
		return errors.New("--audit-interval needs a cluster: run in a pod or give --kubeconfig")
	}
	ns := a.leaseNamespace
	if ns == "" {
		ns = os.Getenv("POD_NAMESPACE")
	}
	if ns == "" {
		ns = defaultLeaseNamespace
	}
	identity := os.Getenv("POD_NAME")
	go func() {
		err := audit.RunServer(ctx, audit.ServerOptions{
			Config: cfg, Resolver: resolver, PullSecrets: resolver != nil && o.pullSecrets,
			Policies: func() (*policy.Set, error) { return policies(), nil },
			Interval: a.interval, Metrics: a.metrics, WriteReports: a.writeReports,
			LeaseNamespace: ns, Identity: identity, Logger: log,
		})
		if err != nil {
			log.Error("background audit stopped", "error", err)
		}
	}()
	return nil
}
