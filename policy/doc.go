// Package policy is baseguard's decision core: the policy model, loading
// and validation, the import of Kyverno policies, and evaluation.
//
// A policy (apiVersion baseguard.dev/v1alpha1, kind BaseImagePolicy) holds
// rules over a subject's lineage:
//
//   - allow: passes when some lineage entry matches one of its patterns;
//   - deny: fails when any lineage entry matches one of its patterns;
//   - when: restricts the rule to the entries it matches (none: it passes);
//   - requireBase, requireVerifiedBase, requireCurrentBase, maxBaseAge:
//     facts about the bases, decidable only on a resolved lineage.
//
// Rules and policies carry an action (enforce, the default; audit; warn)
// with per-namespace overrides, a match and time-limited exceptions. A
// match holds when its own criteria (kinds, names, namespaces, label and
// namespace selectors, admission operations, the requester) hold, one of
// its any alternatives, each of its all filters, and not its exclude.
// What only admission knows (the requester, its roles, the operation) is,
// where unknown, decided so that the rule applies, and results say so;
// unknown namespace labels skip the rule (an error when reading them
// failed). Evaluation is pure: it reads no file, makes no network call,
// and takes the current time as an argument.
//
// Kyverno ClusterPolicies and Policies are imported by their stated
// intent, never narrower than Kyverno: match and exclude blocks are
// translated whole; conditions and patterns exactly, or the rule is
// Untranslated and yields an error result. Every place where baseguard
// reads a policy otherwise than Kyverno is recorded as a Note.
package policy
