package admission

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the webhook's Prometheus metrics.
type metrics struct {
	decisions *prometheus.CounterVec   // policy, rule, result
	reviews   *prometheus.CounterVec   // operation, kind, decision
	rejected  *prometheus.CounterVec   // code: requests refused before review
	latency   *prometheus.HistogramVec // path
	inFlight  prometheus.Gauge
	panics    prometheus.Counter
	reloads   *prometheus.CounterVec // what, outcome
	// connectionsClosed counts connections closed to keep the bound;
	// connectionsOpen the open ones.
	connectionsClosed prometheus.Counter
	connectionsOpen   prometheus.Gauge
}

func newRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// latencyBuckets resolve the 5ms target finely and the 5s webhook timeout
// coarsely.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns, sub = "baseguard", "admission"
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "decisions_total",
			Help: "Rule results of admission reviews (dry-run requests excluded), by policy, rule and result (pass, fail, warn, error, skip).",
		}, []string{"policy", "rule", "result"}),
		reviews: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "reviews_total",
			Help: "Admission reviews answered (dry-run requests excluded), by operation, kind and decision (allowed, warned, denied).",
		}, []string{"operation", "kind", "decision"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "rejected_requests_total",
			Help: "Requests refused before review (malformed, oversized, wrong version; 429 when the memory budget or the bound on requests in flight had no room), by HTTP status code.",
		}, []string{"code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "request_duration_seconds",
			Help:    "Time to answer an admission request, from its arrival to its response.",
			Buckets: latencyBuckets,
		}, []string{"code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "requests_in_flight",
			Help: "Admission requests being answered.",
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "panics_total",
			Help: "Requests whose handling panicked (answered 500).",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "reloads_total",
			Help: "Reloads of changed files and policy objects, by what (policy, certificate, policy-object) and outcome (success, error).",
		}, []string{"what", "outcome"}),
		connectionsClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "connections_closed_total",
			Help: "Connections closed to keep the connection bound: new ones refused, and idle ones closed to make room.",
		}),
		connectionsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "connections_open",
			Help: "Connections open to the webhook's HTTPS port.",
		}),
	}
	reg.MustRegister(m.decisions, m.reviews, m.rejected, m.latency, m.inFlight, m.panics, m.reloads, m.connectionsClosed, m.connectionsOpen)
	return m
}
