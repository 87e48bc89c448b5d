// Package audit judges what runs in a Kubernetes cluster: every Pod that
// exists and has not finished, attributed to the workload that owns it,
// every image resolved once, every subject judged by the same policies as
// `check` and the webhook, and the inventory that comes of it (compliance
// by namespace, the bases that run and how old they are, the exceptions in
// use).
//
// # Reading the cluster
//
// Pods (not Succeeded or Failed) and every kind that keeps a pod template
// and is served by the cluster (found by discovery: Deployments,
// ReplicaSets, StatefulSets, DaemonSets, Jobs, CronJobs,
// ReplicationControllers, and workload CRDs subject knows) are listed with
// client-go, a page at a time; nothing is watched. A Pod is attributed to
// its top owner by following controller ownerReferences through the
// listed objects (Pod → ReplicaSet → Deployment, Pod → Job → CronJob); a
// Pod with no owner, or whose owner is of a kind that keeps no pod
// template, is its own workload. Subjects are read from the live objects
// with subject.ReadObject, as `check` reads manifests: every container
// list and whatever else subject extracts. A workload with Pods is judged
// on its Pods' subjects (what runs), one result set per distinct (field,
// container, image); a workload without Pods (scaled to zero, a CronJob
// between runs) on its template; a finished Job is no workload.
//
// # Resolving
//
// Each distinct image is resolved once per credential set (the pod's
// imagePullSecrets and its service account's; none for most pods), by at
// most Options.Concurrency lookups at a time, through the Resolver given.
// An image that cannot be resolved keeps the reference as written as its
// lineage with the error: its results are the policy's onResolveError
// choice, an error by default, never a pass.
//
// # Outputs
//
// Audit holds the results; Inventory derives the numbers; WriteJSON,
// WriteText and the html subpackage render them; WriteReports publishes
// them as wgpolicyk8s.io PolicyReports; AppendHistory keeps the trend.
// Server runs audits in the background under a leader lease and exports
// Prometheus gauges.
package audit
