package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/baseguard/baseguard/policy"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// The PolicyReport API (wgpolicyk8s.io, as Kyverno and Policy Reporter use
// it) and how baseguard's reports are found in it.
const (
	ReportGroupVersion = "wgpolicyk8s.io/v1alpha2"
	ReportKind         = "PolicyReport"
	// ReportName is the name of baseguard's report in each namespace: one
	// name, so a namespace never has two.
	ReportName = "baseguard"
	// ReportSource is every result's source.
	ReportSource = "baseguard"
	// ManagedByLabel marks the reports baseguard writes (and may delete).
	ManagedByLabel = "app.kubernetes.io/managed-by"
	managedBy      = "baseguard"
	fieldManager   = "baseguard"
	// TruncatedAnnotation says how many results a report leaves out.
	TruncatedAnnotation = "baseguard.dev/results-left-out"
)

// maxReportBytes bounds a report's results: etcd refuses objects over
// 1.5 MiB; passes are left out first, then the rest beyond the bound.
const maxReportBytes = 1 << 20

var reportsResource = schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "policyreports"}

// ErrNoReportCRD says the cluster does not serve PolicyReports.
var ErrNoReportCRD = errors.New("the cluster does not serve wgpolicyk8s.io/v1alpha2 PolicyReports: install the CRDs (kubectl apply -f deploy/policyreport-crds.yaml, or the Helm chart, which ships them)")

// ReportOptions configure WriteReports.
type ReportOptions struct{}

// WriteReports writes one PolicyReport per namespace audited that has
// results, created or updated in place (server-side apply), and deletes
// baseguard's reports of namespaces audited that no longer have any. It
// returns the number of reports written.
func WriteReports(ctx context.Context, cfg *rest.Config, a *Audit, _ ReportOptions) (int, error) {
	cfg = clientConfig(cfg)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return 0, fmt.Errorf("making a Kubernetes client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return 0, fmt.Errorf("making a discovery client: %w", err)
	}
	if err := requireReportCRD(disc); err != nil {
		return 0, err
	}
	byNS := a.resultsByNamespace()
	namespaces := make([]string, 0, len(byNS))
	for ns := range byNS {
		namespaces = append(namespaces, ns)
	}
	slices.Sort(namespaces)
	for _, ns := range namespaces {
		obj := policyReport(ns, byNS[ns], a)
		if _, err := dyn.Resource(reportsResource).Namespace(ns).Apply(ctx, ReportName, obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
			return 0, fmt.Errorf("writing the PolicyReport of namespace %s: %w", ns, err)
		}
	}
	if err := deleteStale(ctx, dyn, a.Namespace, byNS); err != nil {
		return 0, err
	}
	return len(namespaces), nil
}

func requireReportCRD(disc discovery.DiscoveryInterface) error {
	list, err := disc.ServerResourcesForGroupVersion(ReportGroupVersion)
	if apierrors.IsNotFound(err) {
		return ErrNoReportCRD
	}
	if err != nil {
		return fmt.Errorf("looking for the PolicyReport API: %w", err)
	}
	for _, r := range list.APIResources {
		if r.Name == reportsResource.Resource {
			return nil
		}
	}
	return ErrNoReportCRD
}

// reportEntry is one result with its workload.
type reportEntry struct {
	w *Workload
	r *policy.Result
}

func (a *Audit) resultsByNamespace() map[string][]reportEntry {
	out := map[string][]reportEntry{}
	for _, w := range a.Workloads {
		for _, it := range w.Items {
			for i := range it.Results {
				ns := w.Resource.Namespace
				out[ns] = append(out[ns], reportEntry{w, &it.Results[i]})
			}
		}
	}
	return out
}

// deleteStale deletes baseguard's reports in the audited scope whose
// namespace has no results now.
func deleteStale(ctx context.Context, dyn dynamic.Interface, scope string, keep map[string][]reportEntry) error {
	ri := dyn.Resource(reportsResource)
	var list *unstructured.UnstructuredList
	var err error
	opts := metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + managedBy}
	if scope != "" {
		list, err = ri.Namespace(scope).List(ctx, opts)
	} else {
		list, err = ri.List(ctx, opts)
	}
	if err != nil {
		return fmt.Errorf("listing PolicyReports: %w", err)
	}
	for _, item := range list.Items {
		if _, ok := keep[item.GetNamespace()]; ok && item.GetName() == ReportName {
			continue
		}
		err := ri.Namespace(item.GetNamespace()).Delete(ctx, item.GetName(), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting PolicyReport %s/%s: %w", item.GetNamespace(), item.GetName(), err)
		}
	}
	return nil
}

// policyReport builds a namespace's report: every result (passes left out
// first when it would be too large) and the summary of all.
func policyReport(ns string, entries []reportEntry, a *Audit) *unstructured.Unstructured {
	all := make([]policy.Result, len(entries))
	for i, e := range entries {
		all[i] = *e.r
	}
	sum := policy.Summarize(all)
	results, left := boundResults(entries, a)
	meta := map[string]any{
		"name":      ReportName,
		"namespace": ns,
		"labels":    map[string]any{ManagedByLabel: managedBy},
	}
	if left > 0 {
		meta["annotations"] = map[string]any{TruncatedAnnotation: strconv.Itoa(left)}
	}
	summary := map[string]any{}
	for _, st := range policy.Statuses {
		summary[string(st)] = int64(sum[st])
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": ReportGroupVersion,
		"kind":       ReportKind,
		"metadata":   meta,
		"summary":    summary,
		"results":    results,
	}}
}

// boundResults converts entries, leaving out passes, then the last
// results, while they exceed maxReportBytes.
func boundResults(entries []reportEntry, a *Audit) ([]any, int) {
	out := make([]any, 0, len(entries))
	size := 0
	for _, e := range entries {
		r := reportResult(e, a)
		out = append(out, r)
		size += encodedSize(r)
	}
	if size <= maxReportBytes {
		return out, 0
	}
	var kept []any
	size = 0
	for i, e := range entries {
		if e.r.Status == policy.StatusPass {
			continue
		}
		if n := encodedSize(out[i]); size+n <= maxReportBytes {
			kept = append(kept, out[i])
			size += n
		}
	}
	if kept == nil {
		kept = []any{}
	}
	return kept, len(entries) - len(kept)
}

func encodedSize(v any) int {
	b, _ := json.Marshal(v)
	return len(b)
}

// reportResult is one PolicyReport result.
func reportResult(e reportEntry, a *Audit) map[string]any {
	res := e.w.Resource
	props := map[string]any{"image": e.r.Subject.Image, "container": e.r.Subject.Container, "field": e.r.Subject.Field}
	if l := e.r.Lineage; len(l.Entries) > 0 && l.Entries[0].Digest != "" {
		props["digest"] = l.Entries[0].Digest
	}
	if bases := e.r.Lineage.Bases(); len(bases) > 0 {
		props["base"] = bases[0].Ref.Canonical()
	}
	if e.r.Exception != "" {
		props["exception"] = e.r.Exception
	}
	return map[string]any{
		"source":  ReportSource,
		"policy":  e.r.Policy.Metadata.Name,
		"rule":    e.r.Rule.Name,
		"result":  string(e.r.Status),
		"message": e.r.Message,
		"scored":  true,
		"resources": []any{map[string]any{
			"apiVersion": res.APIVersion, "kind": res.Kind, "namespace": res.Namespace, "name": res.Name, "uid": e.w.UID,
		}},
		"timestamp":  map[string]any{"seconds": a.Time.Unix(), "nanos": int64(a.Time.Nanosecond())},
		"properties": props,
	}
}
