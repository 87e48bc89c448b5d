package subject

import (
	"fmt"
	"strings"
)

// Workload is a kind that keeps a pod template: where, in an object of
// that kind, the pod template is (the mapping whose `spec` is a pod spec).
type Workload struct {
	// Group is the API group ("" for the core group, "apps", ...).
	Group string
	// Kind is the kind, as in the object's `kind`.
	Kind string
	// Resource is the plural resource name, for webhook rules; empty for
	// workloads a policy declares.
	Resource string
	// TemplatePath is the path of the pod template, empty when the object
	// itself is the pod (its spec is the pod spec).
	TemplatePath []string
}

// SpecPath is the path of the workload's pod spec.
func (w Workload) SpecPath() []string {
	return append(append([]string(nil), w.TemplatePath...), "spec")
}

// String names the workload as `Kind.group`.
func (w Workload) String() string {
	if w.Group == "" {
		return w.Kind
	}
	return w.Kind + "." + w.Group
}

// Workloads are the kinds whose pod templates are judged by default: every
// pod-bearing kind of Kubernetes and the pod templates of well-known
// workload CRDs. Kinds are matched with their API group: OpenKruise's
// StatefulSet (apps.kruise.io) is not the apps StatefulSet. The admission
// webhook's rules are generated from this table.
var Workloads = []Workload{
	{Group: "", Kind: "Pod", Resource: "pods"},
	{Group: "", Kind: "PodTemplate", Resource: "podtemplates", TemplatePath: []string{"template"}},
	{Group: "", Kind: "ReplicationController", Resource: "replicationcontrollers", TemplatePath: []string{"spec", "template"}},
	{Group: "apps", Kind: "Deployment", Resource: "deployments", TemplatePath: []string{"spec", "template"}},
	{Group: "apps", Kind: "ReplicaSet", Resource: "replicasets", TemplatePath: []string{"spec", "template"}},
	{Group: "apps", Kind: "StatefulSet", Resource: "statefulsets", TemplatePath: []string{"spec", "template"}},
	{Group: "apps", Kind: "DaemonSet", Resource: "daemonsets", TemplatePath: []string{"spec", "template"}},
	{Group: "batch", Kind: "Job", Resource: "jobs", TemplatePath: []string{"spec", "template"}},
	{Group: "batch", Kind: "CronJob", Resource: "cronjobs", TemplatePath: []string{"spec", "jobTemplate", "spec", "template"}},
	// Deployments, DaemonSets and ReplicaSets as clusters before 1.16 served them.
	{Group: "extensions", Kind: "Deployment", Resource: "deployments", TemplatePath: []string{"spec", "template"}},
	{Group: "extensions", Kind: "ReplicaSet", Resource: "replicasets", TemplatePath: []string{"spec", "template"}},
	{Group: "extensions", Kind: "DaemonSet", Resource: "daemonsets", TemplatePath: []string{"spec", "template"}},
	{Group: "argoproj.io", Kind: "Rollout", Resource: "rollouts", TemplatePath: []string{"spec", "template"}},
	{Group: "serving.knative.dev", Kind: "Service", Resource: "services", TemplatePath: []string{"spec", "template"}},
	{Group: "serving.knative.dev", Kind: "Configuration", Resource: "configurations", TemplatePath: []string{"spec", "template"}},
	{Group: "keda.sh", Kind: "ScaledJob", Resource: "scaledjobs", TemplatePath: []string{"spec", "jobTargetRef", "template"}},
	{Group: "apps.kruise.io", Kind: "CloneSet", Resource: "clonesets", TemplatePath: []string{"spec", "template"}},
	{Group: "apps.kruise.io", Kind: "StatefulSet", Resource: "statefulsets", TemplatePath: []string{"spec", "template"}},
	{Group: "apps.kruise.io", Kind: "DaemonSet", Resource: "daemonsets", TemplatePath: []string{"spec", "template"}},
	{Group: "apps.openshift.io", Kind: "DeploymentConfig", Resource: "deploymentconfigs", TemplatePath: []string{"spec", "template"}},
	// OpenShift 3 served DeploymentConfig in the core group (apiVersion v1).
	{Group: "", Kind: "DeploymentConfig", Resource: "deploymentconfigs", TemplatePath: []string{"spec", "template"}},
}

// GroupOf returns the API group of an apiVersion: "apps" for "apps/v1",
// "" for "v1".
func GroupOf(apiVersion string) string {
	group, _, ok := strings.Cut(apiVersion, "/")
	if !ok {
		return ""
	}
	return group
}

// FindWorkload returns the workload an object of apiVersion and kind is:
// declared ones first, then the built-in table. A kind of Kubernetes' own
// with no apiVersion (a partial manifest) or the group of another of its
// own kinds (`v1` for a Deployment, which the API server would refuse) is
// taken for that kind: judging more than could run is safe, less is not.
func FindWorkload(apiVersion, kind string, declared []Workload) (Workload, bool) {
	group := GroupOf(apiVersion)
	for _, table := range [][]Workload{declared, Workloads} {
		for _, w := range table {
			if w.Kind == kind && w.Group == group {
				return w, true
			}
		}
	}
	if apiVersion != "" && !isCoreGroup(group) {
		return Workload{}, false
	}
	for _, w := range Workloads {
		if w.Kind == kind && isCoreGroup(w.Group) {
			return w, true
		}
	}
	return Workload{}, false
}

// isCoreGroup reports the groups of Kubernetes' own pod-bearing kinds.
func isCoreGroup(group string) bool {
	return group == "" || group == "apps" || group == "batch" || group == "extensions"
}

// ParseWorkload makes a workload from an apiVersion, a kind and a
// dot-separated template path (`spec.template`), as a policy declares it.
func ParseWorkload(apiVersion, kind, templatePath string) (Workload, error) {
	switch {
	case apiVersion == "":
		return Workload{}, fmt.Errorf("apiVersion is required")
	case strings.Count(apiVersion, "/") > 1 || strings.HasPrefix(apiVersion, "/") || strings.HasSuffix(apiVersion, "/"):
		return Workload{}, fmt.Errorf("apiVersion %q: want group/version", apiVersion)
	case kind == "":
		return Workload{}, fmt.Errorf("kind is required")
	case templatePath == "":
		return Workload{}, fmt.Errorf("templatePath is required: the path of the pod template, e.g. spec.template")
	}
	path := strings.Split(templatePath, ".")
	for _, p := range path {
		if p == "" || strings.ContainsAny(p, "[]*") {
			return Workload{}, fmt.Errorf("templatePath %q: want field names separated by dots, e.g. spec.template", templatePath)
		}
	}
	return Workload{Group: GroupOf(apiVersion), Kind: kind, TemplatePath: path}, nil
}
