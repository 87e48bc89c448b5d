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
// Rules and policies carry an action (enforce, the default; audit; warn), a
// match (kinds, namespaces, label selector, namespace selector) and
// time-limited exceptions. Evaluation is pure: it reads no file, makes no
// network call, and takes the current time as an argument. Kyverno
// ClusterPolicies are imported by their stated intent; every place where
// that differs from Kyverno's literal evaluation is recorded as a Note.
package policy
