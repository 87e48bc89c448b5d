package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/policy"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Defaults of ServerOptions.
const (
	// DefaultLeaseName is the Lease the replicas contend for.
	DefaultLeaseName = "baseguard-audit"
	// Lease timings as client-go's controllers use them: a stopped leader
	// releases the lease at once; a crashed one is replaced within 15 s.
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// ServerOptions configure RunServer.
type ServerOptions struct {
	// Config reaches the cluster. Required.
	Config *rest.Config
	// Policies loads the policies in force; called before each audit, so
	// edits apply at the next one. Required.
	Policies func() (*policy.Set, error)
	// Resolver and PullSecrets are as in Options.
	Resolver    admission.Resolver
	PullSecrets bool
	// Interval is the time between the starts of two audits. Required.
	Interval time.Duration
	// Metrics receive each audit's numbers (NewMetrics). Required.
	Metrics *Metrics
	// WriteReports writes PolicyReports after each audit.
	WriteReports bool
	// LeaseNamespace and LeaseName name the Lease (LeaseName defaults to
	// DefaultLeaseName); Identity is this replica's (the host name and a
	// random suffix when empty).
	LeaseNamespace, LeaseName, Identity string
	// Lease timings (the defaults above when zero).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Logger receives a line per audit (discarded when nil).
	Logger *slog.Logger
	// OnAudit, when set, is called after each audit.
	OnAudit func(a *Audit, err error)
}

func (o ServerOptions) withDefaults() ServerOptions {
	if o.LeaseName == "" {
		o.LeaseName = DefaultLeaseName
	}
	if o.Identity == "" {
		host, _ := os.Hostname()
		o.Identity = fmt.Sprintf("%s-%d", host, time.Now().UnixNano()%1e6)
	}
	if o.LeaseDuration == 0 {
		o.LeaseDuration = DefaultLeaseDuration
	}
	if o.RenewDeadline == 0 {
		o.RenewDeadline = DefaultRenewDeadline
	}
	if o.RetryPeriod == 0 {
		o.RetryPeriod = DefaultRetryPeriod
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// RunServer audits in the background until ctx ends: the replicas that
// run it contend for a Lease, and only the holder audits, every Interval,
// writing PolicyReports and setting the metrics; the others stand by and
// take over when the holder stops (it releases the lease) or dies (after
// LeaseDuration).
func RunServer(ctx context.Context, opts ServerOptions) error {
	opts = opts.withDefaults()
	if opts.Config == nil || opts.Policies == nil || opts.Metrics == nil || opts.Interval <= 0 || opts.LeaseNamespace == "" {
		return errors.New("running the background audit: a cluster, policies, metrics, an interval and a lease namespace are required")
	}
	elector, err := newElector(opts)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		elector.Run(ctx) // returns when leadership is lost: contend again
	}
	return nil
}

func newElector(opts ServerOptions) (*leaderelection.LeaderElector, error) {
	kube, err := kubernetes.NewForConfig(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("making a Kubernetes client: %w", err)
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, opts.LeaseNamespace, opts.LeaseName,
		kube.CoreV1(), kube.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: opts.Identity})
	if err != nil {
		return nil, fmt.Errorf("making the audit lease lock: %w", err)
	}
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, ReleaseOnCancel: true, Name: opts.LeaseName,
		LeaseDuration: opts.LeaseDuration, RenewDeadline: opts.RenewDeadline, RetryPeriod: opts.RetryPeriod,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) { lead(ctx, opts) },
			OnStoppedLeading: func() {
				opts.Metrics.leader.Set(0)
				opts.Metrics.clear()
				opts.Logger.Info("audit: standing by", "identity", opts.Identity)
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("making the audit leader elector: %w", err)
	}
	return elector, nil
}

// lead audits now and every interval while ctx lasts.
func lead(ctx context.Context, opts ServerOptions) {
	opts.Metrics.leader.Set(1)
	opts.Logger.Info("audit: leading", "identity", opts.Identity, "interval", opts.Interval)
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	for {
		auditOnce(ctx, opts)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// auditOnce runs one audit and publishes it.
func auditOnce(ctx context.Context, opts ServerOptions) {
	start := time.Now()
	a, err := runAudit(ctx, opts)
	if err == nil {
		took := time.Since(start)
		opts.Metrics.Set(a, took)
		inv := a.Inventory()
		opts.Logger.Info("audit", "containers", inv.Containers, "compliance", inv.Compliance, "workloads", inv.Workloads, "duration", took)
		for _, n := range a.Notes {
			opts.Logger.Warn("audit: " + n)
		}
		if opts.WriteReports {
			_, err = WriteReports(ctx, opts.Config, a, ReportOptions{})
		}
	}
	if err != nil && ctx.Err() == nil {
		opts.Metrics.failures.Inc()
		opts.Logger.Error("audit failed", "error", err)
	}
	if opts.OnAudit != nil {
		opts.OnAudit(a, err)
	}
}

func runAudit(ctx context.Context, opts ServerOptions) (*Audit, error) {
	set, err := opts.Policies()
	if err != nil {
		return nil, fmt.Errorf("loading policies: %w", err)
	}
	return Run(ctx, Options{Config: opts.Config, Policies: set, Resolver: opts.Resolver, PullSecrets: opts.PullSecrets})
}

// NewMetricsRegistry is a registry with the audit's metrics alone.
func NewMetricsRegistry() (*prometheus.Registry, *Metrics) {
	reg := prometheus.NewRegistry()
	return reg, NewMetrics(reg)
}
