package admission

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/baseguard/baseguard/subject"
	admissionv1 "k8s.io/api/admission/v1"
)

// What a log line holds, whatever the request: the request's own strings
// (uid, kind, names, user) are cut at maxLogField bytes, and the failing
// results it lists are the decision's kept ones, each cut at maxLineRunes.
const maxLogField = 256

// record counts a decision and logs it when it is worth a line: a denial,
// a warning, an error. Clean admissions are logged at debug level.
func (h *Handler) record(ctx context.Context, req *wireRequest, d *decision, resp *admissionv1.AdmissionResponse, took time.Duration) {
	v := allowed
	switch {
	case !resp.Allowed:
		v = denied
	case len(resp.Warnings) > 0:
		v = warned
	}
	h.metrics.reviews.WithLabelValues(operationLabel(req.Operation), h.kindLabel(req.Kind.Kind), string(v)).Inc()
	if d != nil {
		for k, n := range d.counts {
			h.metrics.decisions.WithLabelValues(k.policy, k.rule, string(k.status)).Add(float64(n))
		}
	}
	level := slog.LevelInfo
	if v == allowed {
		level = slog.LevelDebug
	}
	if !h.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("uid", truncate(string(req.UID))),
		slog.String("operation", truncate(string(req.Operation))),
		slog.String("kind", truncate(req.Kind.Kind)),
		slog.String("namespace", truncate(req.Namespace)),
		slog.String("name", truncate(req.Name)),
		slog.String("user", truncate(req.UserInfo.Username)),
		slog.String("decision", string(v)),
		slog.Float64("took_ms", float64(took.Microseconds())/1000),
	}
	if req.SubResource != "" {
		attrs = append(attrs, slog.String("subresource", truncate(req.SubResource)))
	}
	if d != nil {
		attrs = append(attrs, slog.Int("judged", d.judged), slog.Int("preexisting", d.preexisting.n))
		if d.blocking.n+d.warned.n > 0 {
			attrs = append(attrs, slog.Int("failing", d.blocking.n+d.warned.n), slog.String("results", d.failing()))
		}
	}
	if resp.Result != nil && v == denied && d == nil {
		attrs = append(attrs, slog.String("reason", resp.Result.Message))
	}
	if len(resp.Warnings) > 0 {
		attrs = append(attrs, slog.Int("warnings", len(resp.Warnings)))
	}
	h.log.LogAttrs(ctx, level, "admission decision", attrs...)
}

// failing names the kept results that denied or warned, for the log:
// `policy/rule container=image result; ...`, and counts the rest.
func (d *decision) failing() string {
	var out []string
	for _, k := range []*kept{&d.blocking, &d.warned} {
		for i := range k.results {
			r := &k.results[i]
			out = append(out, oneLine(fmt.Sprintf("%s/%s %s=%s %s", r.Policy.Metadata.Name, r.Rule.Name, r.Subject.Container, r.Subject.Image, r.Status)))
		}
	}
	if rest := d.blocking.n + d.warned.n - len(out); rest > 0 {
		out = append(out, fmt.Sprintf("and %d more", rest))
	}
	return strings.Join(out, "; ")
}

// truncate cuts a string from the request for a log line.
func truncate(s string) string {
	if len(s) <= maxLogField {
		return s
	}
	return strings.ToValidUTF8(s[:maxLogField], "") + "…"
}

// operationLabel is the operation, for a metric label: one of the four
// kube-apiserver sends, else "other".
func operationLabel(op admissionv1.Operation) string {
	switch op {
	case admissionv1.Create, admissionv1.Update, admissionv1.Delete, admissionv1.Connect:
		return string(op)
	}
	return otherLabel
}

// otherLabel stands for every value a metric label does not know: labels
// come from a closed set, whatever the requests say.
const otherLabel = "other"

// kindLabel is the kind, for a metric label: a kind baseguard judges, else
// "other".
func (h *Handler) kindLabel(kind string) string {
	if _, ok := subject.PodKinds[kind]; ok {
		return kind
	}
	return otherLabel
}
