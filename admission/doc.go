// Package admission is baseguard's admission webhook: an HTTPS server
// answering AdmissionReview v1 requests on /validate (and /mutate, which
// pins judged images to their digests), with /healthz, /readyz and
// Prometheus /metrics beside it.
//
// A review judges CREATE and UPDATE of every kind subject reads a pod
// template from (Kubernetes' own, well-known workload CRDs, the kinds the
// policies declare in spec.workloads) and the pods/ephemeralcontainers
// subresource (`kubectl debug`): every container list and image volume.
// The object is handed to subject.ReadObject whole, as a node tree built
// from its JSON with keys compared case-sensitively, as kube-apiserver
// does; a kind that holds a container list subject cannot place is told in
// a warning. An UPDATE judges the whole new object, and the old one with
// the same namespace labels and requester, and is denied for every failing
// (rule, container, image) the old object did not have: a label bringing a
// stricter rule into force, a new failing image even in a failing
// container. Failures it had already do not block it and are told in one
// warning. Other operations, subresources and kinds are allowed unjudged.
//
// Whatever an object holds, a review is bounded: bodies of at most
// MaxRequestBytes, objects of at most MaxObjectValues values and
// MaxObjectImages images (beyond them, denied), a memory budget reserved
// before a body is read (a review that finds no room within 500 ms is
// answered 429 with Retry-After; large reviews are judged at most one fewer
// than the CPUs at once), the request's timeout, denials naming the
// first 10 failing results, at most 10 warnings, log lines naming the first
// 100; names and images are printed with control characters escaped. The
// server bounds connections (at the bound, an idle connection of the
// address holding the most is closed for a new one, the one silent the
// longest and never carrying a review first, so a connection flood closes
// its own connections and not kube-apiserver's), HTTP/2 streams and
// windows, headers and requests in flight; metric labels come from a
// closed set. With
// Options.ProbeAddr, /healthz, /readyz and /metrics are also served over
// plain HTTP on a listener of their own, which such a flood does not
// starve.
//
// Each distinct image's lineage comes from a Resolver (Offline by default:
// the image as written) within a budget (Options.ResolveBudget, lowered to
// 60% of the timeout kube-apiserver sends with the request). What an image
// whose lineage could not be resolved in time meets is its policy's
// onResolveError choice, and the response says which. An enforced rule that
// fails, or that cannot be checked (an invalid reference), denies; audit
// and warn rules never deny and answer with warnings, which kubectl
// prints. Each image of both objects of an UPDATE is resolved once, at most
// 32 at a time. Dry-run requests are
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
// NamespaceLabeler (WatchNamespaces caches them from a watch); without one,
// policies that select namespaces by label do not load unless
// Options.SkipNamespaceSelectors. Requesters (userInfo) are given to rules
// that select them; their roles come from a RoleLookup (WatchRoleBindings),
// asked only while a policy selects by role.
//
// On /mutate, each image of a CREATE (or that an UPDATE adds or changes)
// not pinned to a digest is resolved by the same Resolver within the same
// budget and rewritten to repo:tag@sha256:<digest> by a JSON patch that
// touches only image fields (each replace guarded by a test of the value
// judged). The validating webhook, called after every mutating one, then
// judges that digest, and the kubelet pulls it: a tag moved in between
// changes nothing. /mutate never denies.
//
// Policies can also be objects of the cluster (WatchClusterPolicies,
// Options.ClusterPolicies): BaseImagePolicies and, for clusters without
// Kyverno, Kyverno ClusterPolicies whose rules all check images. Each is
// loaded on its own, as a file is, and the set in force is the files'
// policies and the objects' whose names the files leave free (the built-in
// policy while there are none). A change is in force as soon as the watch
// delivers it. A generation that does not load leaves the last one that did
// in force; the server writes each object's status (a Ready condition, the
// rules in force, lint notes) and keeps the generation in force there, so
// that replicas and restarts apply it too.
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
