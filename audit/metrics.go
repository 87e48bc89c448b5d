package audit

import (
	"cmp"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// maxBaseSeries bounds the bases given series of their own; the rest are
// summed under base="other", so a cluster of many bases cannot blow up
// Prometheus.
const maxBaseSeries = 100

// Metrics are the audit's Prometheus gauges, set from the last audit.
type Metrics struct {
	containers    *prometheus.GaugeVec // base, verdict
	compliance    *prometheus.GaugeVec // namespace
	total         *prometheus.GaugeVec
	workloads     *prometheus.GaugeVec // verdict
	baseAge       *prometheus.GaugeVec // base, digest
	stale         *prometheus.GaugeVec
	denied        *prometheus.GaugeVec
	exceptionDays *prometheus.GaugeVec // policy, exception
	lastRun       prometheus.Gauge
	duration      prometheus.Gauge
	failures      prometheus.Counter
	leader        prometheus.Gauge
	gauges        []prometheus.Collector
}

// MetricNames are the names of the audit's metrics, for dashboards and
// their test.
var MetricNames = []string{
	"baseguard_audit_containers", "baseguard_audit_compliance_ratio", "baseguard_audit_cluster_compliance_ratio",
	"baseguard_audit_workloads", "baseguard_audit_base_age_days", "baseguard_audit_stale_bases",
	"baseguard_audit_denied_bases", "baseguard_audit_exception_days_to_expiry", "baseguard_audit_last_run_timestamp_seconds",
	"baseguard_audit_last_run_duration_seconds", "baseguard_audit_failures_total", "baseguard_audit_leader",
}

// NewMetrics registers the audit's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	const ns, sub = "baseguard", "audit"
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	gv := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, labels)
	}
	m := &Metrics{
		containers:    gv("containers", "Containers running, by direct base (canonical reference with tag; unknown; other beyond the first 100) and verdict (compliant, noncompliant).", "base", "verdict"),
		compliance:    gv("compliance_ratio", "Compliant containers over containers, by namespace (1 without containers).", "namespace"),
		total:         gv("cluster_compliance_ratio", "Compliant containers over containers in the audited scope."),
		workloads:     gv("workloads", "Workloads, by verdict (compliant, noncompliant).", "verdict"),
		baseAge:       gv("base_age_days", "Age in days of each base that runs (bases of known creation time).", "base", "digest"),
		stale:         gv("stale_bases", "Bases that run whose tag now names another digest."),
		denied:        gv("denied_bases", "Bases that run although a deny rule matches them."),
		exceptionDays: gv("exception_days_to_expiry", "Days until each exception with an expiry expires (negative: expired).", "policy", "exception"),
		lastRun:       g("last_run_timestamp_seconds", "When the last successful audit finished, in Unix seconds."),
		duration:      g("last_run_duration_seconds", "How long the last successful audit took."),
		failures:      prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "failures_total", Help: "Audits that failed (the cluster or the PolicyReports could not be read or written)."}),
		leader:        g("leader", "1 while this replica holds the audit lease and audits, 0 on standby."),
	}
	m.gauges = []prometheus.Collector{m.containers, m.compliance, m.total, m.workloads, m.baseAge, m.stale, m.denied, m.exceptionDays}
	reg.MustRegister(append(slices.Clone(m.gauges), m.lastRun, m.duration, m.failures, m.leader)...)
	return m
}

// Set replaces the gauges with the audit's numbers.
func (m *Metrics) Set(a *Audit, took time.Duration) {
	m.clear()
	inv := a.Inventory()
	m.setContainers(a, inv)
	for _, ns := range inv.Namespaces {
		m.compliance.WithLabelValues(ns.Name).Set(ns.Compliance)
	}
	m.total.WithLabelValues().Set(inv.Compliance)
	m.workloads.WithLabelValues("compliant").Set(float64(inv.CompliantWorkloads))
	m.workloads.WithLabelValues("noncompliant").Set(float64(inv.Workloads - inv.CompliantWorkloads))
	stale, denied := 0, 0
	for i, b := range inv.Bases {
		if b.Stale() {
			stale++
		}
		if len(b.DeniedBy) > 0 {
			denied++
		}
		if b.Created != nil && i < maxBaseSeries {
			m.baseAge.WithLabelValues(b.Ref, b.Digest).Set(b.Age(a.Time).Hours() / 24)
		}
	}
	m.stale.WithLabelValues().Set(float64(stale))
	m.denied.WithLabelValues().Set(float64(denied))
	for _, e := range inv.Exceptions {
		if e.Expires != nil {
			m.exceptionDays.WithLabelValues(e.Policy, e.Name).Set(e.ExpiresAt.Sub(a.Time).Hours() / 24)
		}
	}
	m.lastRun.Set(float64(a.Time.Add(took).Unix()))
	m.duration.Set(took.Seconds())
}

// setContainers counts containers by base and verdict, the largest bases
// by name and the rest as "other".
func (m *Metrics) setContainers(a *Audit, inv Inventory) {
	named := map[string]bool{}
	for i, b := range inv.Bases {
		if i < maxBaseSeries {
			named[b.Ref] = true
		}
	}
	counts := map[[2]string]int{}
	for _, w := range a.Workloads {
		for _, it := range w.Items {
			if it.Containers == 0 {
				continue
			}
			base := "unknown"
			if b, ok := it.base(); ok {
				base = "other"
				if named[baseRef(b)] {
					base = baseRef(b)
				}
			}
			verdict := "noncompliant"
			if it.compliant() {
				verdict = "compliant"
			}
			counts[[2]string{base, verdict}] += it.Containers
		}
	}
	keys := make([][2]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y [2]string) int { return cmp.Or(cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1])) })
	for _, k := range keys {
		m.containers.WithLabelValues(k[0], k[1]).Set(float64(counts[k]))
	}
}

// clear drops every audit gauge: a standby replica exports none, so
// queries across replicas see the leader's numbers alone.
func (m *Metrics) clear() {
	for _, c := range m.gauges {
		c.(*prometheus.GaugeVec).Reset()
	}
}
