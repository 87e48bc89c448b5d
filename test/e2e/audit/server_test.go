package audit

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/audit"
	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	lregistry "github.com/baseguard/baseguard/lineage/registry"
	"github.com/baseguard/baseguard/policy"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// replica is one in-process background audit, as `serve --audit-interval`
// runs it.
type replica struct {
	name    string
	reg     *prometheus.Registry
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	audits  int
	lastErr error
}

func startReplica(t *testing.T, name, leaseNS string, resolver admission.Resolver) *replica {
	t.Helper()
	reg, metrics := audit.NewMetricsRegistry()
	r := &replica{name: name, reg: reg, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	data, err := os.ReadFile(world.policyFile)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.done)
		err := audit.RunServer(ctx, audit.ServerOptions{
			Config: cfg, Resolver: resolver, Interval: 500 * time.Millisecond, Metrics: metrics, WriteReports: true,
			Policies: func() (*policy.Set, error) {
				ps, err := policy.Load(policy.File{Name: "policy.yaml", Data: data})
				if err != nil {
					return nil, err
				}
				return policy.NewSet(ps)
			},
			LeaseNamespace: leaseNS, Identity: name,
			LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: 500 * time.Millisecond,
			OnAudit: func(_ *audit.Audit, err error) {
				r.mu.Lock()
				r.audits++
				r.lastErr = err
				r.mu.Unlock()
			},
		})
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *replica) stop() {
	r.cancel()
	<-r.done
}

func (r *replica) count() (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.audits, r.lastErr
}

// gauge returns the value of a metric without labels, and whether the
// replica exports it.
func (r *replica) gauge(t *testing.T, name string) (float64, bool) {
	t.Helper()
	fams, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.GetMetric()) > 0 {
			return f.GetMetric()[0].GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func (r *replica) exported(t *testing.T) []string {
	t.Helper()
	fams, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fams {
		if len(f.GetMetric()) > 0 {
			names = append(names, f.GetName())
		}
	}
	return names
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBackgroundAuditTwoReplicas runs two replicas of the background
// audit: one leads (audits, writes PolicyReports, exports the gauges), the
// other stands by and exports none; when the leader stops, the other takes
// over. The Grafana dashboard's queries name only metrics the leader
// exports.
func TestBackgroundAuditTwoReplicas(t *testing.T) {
	requireEnv(t)
	installReportCRDs(t)
	ctx := context.Background()
	if _, err := clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "baseguard-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := lregistry.New()
	if err != nil {
		t.Fatal(err)
	}
	resolver := admission.ResolverFunc(func(ctx context.Context, ref imageref.Ref, _ admission.Credentials) lineage.Lineage {
		return c.Lineage(ctx, ref)
	})
	a := startReplica(t, "replica-a", "baseguard-system", resolver)
	b := startReplica(t, "replica-b", "baseguard-system", resolver)

	var leader, standby *replica
	waitFor(t, "a leader's first audit", func() bool {
		na, _ := a.count()
		nb, _ := b.count()
		switch {
		case na > 0 && nb == 0:
			leader, standby = a, b
		case nb > 0 && na == 0:
			leader, standby = b, a
		}
		return leader != nil
	})
	waitFor(t, "a second audit", func() bool { n, _ := leader.count(); return n >= 2 })
	if n, _ := standby.count(); n != 0 {
		t.Errorf("the standby audited %d times", n)
	}
	if _, err := leader.count(); err != nil {
		t.Errorf("the leader's audit failed: %v", err)
	}
	if v, _ := leader.gauge(t, "baseguard_audit_leader"); v != 1 {
		t.Errorf("leader gauge %v on the leader", v)
	}
	if v, ok := leader.gauge(t, "baseguard_audit_cluster_compliance_ratio"); !ok || v <= 0 || v >= 1 {
		t.Errorf("cluster compliance %v (exported: %v)", v, ok)
	}
	if _, ok := standby.gauge(t, "baseguard_audit_cluster_compliance_ratio"); ok {
		t.Error("the standby exports audit gauges")
	}
	if got := reports(t, "shop"); len(got) != 1 {
		t.Errorf("%d PolicyReports in shop, want 1", len(got))
	}
	checkDashboard(t, leader.exported(t))

	lease, err := clientset.CoordinationV1().Leases("baseguard-system").Get(ctx, audit.DefaultLeaseName, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != leader.name {
		t.Errorf("lease %v (err %v), want held by %s", lease, err, leader.name)
	}
	leader.stop()
	waitFor(t, "the standby to take over", func() bool { n, _ := standby.count(); return n > 0 })
	if v, _ := standby.gauge(t, "baseguard_audit_leader"); v != 1 {
		t.Errorf("leader gauge %v on the new leader", v)
	}
}

// checkDashboard checks that every metric the Grafana dashboard queries is
// one the server exports, and that the chart ships the same dashboard.
func checkDashboard(t *testing.T, exported []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	chart, err := os.ReadFile(filepath.Join(repoRoot, "charts", "baseguard", "dashboards", "baseguard-audit.json"))
	if err != nil || string(chart) != string(data) {
		t.Errorf("the chart's dashboard differs from deploy/grafana-dashboard.json (%v)", err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("reading the dashboard: %v", err)
	}
	name := regexp.MustCompile(`baseguard_[a-z_]+`)
	queried := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				queried++
				if !slices.Contains(exported, m) {
					t.Errorf("panel %q queries %s, which the server does not export (it exports %v)", p.Title, m, exported)
				}
			}
		}
	}
	if queried == 0 {
		t.Error("the dashboard queries no baseguard metric")
	}
	for _, m := range audit.MetricNames {
		if !slices.Contains(exported, m) {
			t.Errorf("audit.MetricNames lists %s, which the server does not export", m)
		}
	}
}
