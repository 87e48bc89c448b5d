// Package crd makes the CustomResourceDefinitions that let policies live
// in a cluster as objects: BaseImagePolicy (baseguard.dev/v1alpha1,
// cluster-scoped), whose OpenAPI v3 schema is generated from the policy
// model, and a minimal kyverno.io/v1 ClusterPolicy for clusters that do not
// run Kyverno.
//
// The schema is derived by reflection from policy.Spec: every field the
// loader reads (its yaml tag) is a property of the same name and type, in
// the same nesting. What reflection cannot see (enums, required fields,
// patterns, defaults, list keys) comes from one table, checked against the
// model: an entry for a field the model lacks is an error, and so is a
// model type that decodes itself from YAML without a schema given here.
// Field descriptions are the model's doc comments (Docs), so `kubectl
// explain baseimagepolicy.spec.rules` reads like the Go documentation.
//
// The schema is a first filter: kubectl apply is refused for a malformed
// policy, and what passes is loaded by the same loader as policy files,
// which remains the final word. The schema is never stricter than the
// loader except where a test says so (an explicit empty string for an
// enum, which the loader reads as unset).
//
// The generated files (charts/baseguard/crds, deploy/) are kept current by
// `go test ./policy/crd -update`; the test fails when they are stale.
package crd
