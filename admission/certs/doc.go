// Package certs keeps the webhook's own serving certificate when no
// certificate manager provides one, as Kyverno and Gatekeeper's
// cert-controller do: a CA and a serving pair it signs live in one Secret,
// the caBundle of the webhook's ValidatingWebhookConfiguration and
// MutatingWebhookConfiguration is set to the CA, and both are renewed
// before they expire.
//
// Every replica runs a Controller on the same Secret. A sync reads the
// Secret; when it is empty, unreadable, for other names, or a third of a
// certificate's lifetime is left, the replica writes a new one with an
// optimistic update: when replicas race, one update wins and the others,
// refused with a conflict, read the winner's. Then the caBundle of each
// webhook configuration is set to the Secret's CA bundle, and only then
// are the serving pair and the bundle written to a directory (atomically,
// key first), which admission's server re-reads: a replica never serves a
// certificate kube-apiserver does not yet trust. The first sync blocks
// `serve` from listening, so a replica is ready only once its webhook is
// callable.
//
// A CA nearing its end is replaced by a new one and kept in the bundle
// beside it until it expires, so pairs it signed stay trusted while
// replicas move to the new one. A CA that does not load (a Secret edited
// by hand, a key that is not its certificate's) is replaced and not kept:
// deleting the Secret's data rotates everything. After the first sync the
// Controller watches the Secret and the webhook configurations, so a
// caBundle reset (a `helm upgrade`, a stale replica) is set again at once,
// and syncs again when the serving pair is due, at the latest every
// resync interval.
//
// Defaults: the CA is valid 10 years and the serving pair 1 year (as
// `baseguard certs`), both ECDSA P-256. Nothing is cached but the bytes
// last written.
package certs
