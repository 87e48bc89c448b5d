// Package admission is baseguard's validating admission webhook: an HTTPS
// server answering AdmissionReview v1 requests on /validate, with /healthz,
// /readyz and Prometheus /metrics beside it.
//
// A review judges CREATE and UPDATE of every pod-bearing kind (Pod,
// Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
// ReplicationController, PodTemplate) and the pods/ephemeralcontainers
// subresource (`kubectl debug`), in every container list. An UPDATE judges
// only the containers it adds or whose image it changes: an update that
// changes no image is judged no more strictly than the object already was.
// Other operations, subresources and kinds are allowed unjudged.
//
// Each distinct image's lineage comes from a Resolver (Offline by default:
// the image as written) within a budget (Options.ResolveBudget, lowered to
// 60% of the timeout kube-apiserver sends with the request). What an image
// whose lineage could not be resolved in time meets is its policy's
// onResolveError choice, and the response says which. An enforced rule that
// fails, or that cannot be checked (an invalid reference), denies, with one
// message listing every failing container; audit and warn rules never deny
// and answer with warnings, which kubectl prints. Dry-run requests are
// judged but not recorded in metrics or logs.
//
// Requests that are not a JSON AdmissionReview v1 of at most
// MaxRequestBytes get a 4xx status with the reason; a panic while judging a
// request is recovered, counted and answered 500.
//
// The certificate files and the policy files are re-read every
// Options.ReloadInterval; a changed certificate is served to new
// connections, and a changed policy set is swapped in atomically, so no
// request is dropped and each is judged by one consistent set. Files that
// do not load leave the previous certificate or policies in force, and the
// failure is logged and counted. Namespace labels come from a
// NamespaceLabeler (WatchNamespaces caches them from a watch).
//
// A Resolver is given the pod's Credentials: its namespace, service account
// and imagePullSecrets. PullSecrets makes the resolver that uses them as
// the kubelet would: it keeps one resolver, with caches of its own, per
// credential set (at most DefaultPullSecretResolvers, least recently used
// dropped first), so facts fetched with one set's credentials never answer
// a request with another's; sets without pull secrets share one default
// resolver. Secrets are read again every DefaultPullSecretTTL. Nothing else
// is cached here: decisions never are.
package admission
