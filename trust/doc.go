// Package trust finds what signs and attests the images of a lineage, as
// cosign stores it, and gives the policy what it needs to judge signedBy
// and vulnerabilities rules (lineage.Entry.Trust).
//
// For each entry it reads cosign's tag layout (sha256-<hex>.sig with
// simple-signing payloads, sha256-<hex>.att with DSSE envelopes) and Sigstore
// bundles attached as OCI 1.1 referrers, through the registry's referrers
// API or the sha256-<hex> fallback index. Signatures are verified with
// sigstore's libraries (sigstore/sigstore verifiers, sigstore-go bundles)
// against the policy's keys, never by hand-written crypto; what a signature
// names (the simple-signing digest, an in-toto statement's subjects) is
// kept so that the policy counts it only for the entry's digest or an index
// listing it. Vulnerability attestations (predicate type
// https://cosign.sigstore.dev/attestation/vuln/v1, and the older spelling)
// are read as Trivy and Grype write them; any other layout is a problem
// named in the facts, never a pass.
//
// Everything read is bounded (limits.go); what could not be read is a
// problem of the facts, and a registry that fails is the facts' error, so
// that the policy's onResolveError decides. Facts are cached by digest
// (DefaultFoundTTL, and DefaultMissingTTL for "none found": a signature may
// be added after a push); decisions never are. Resolver ties this to a
// registry client's lineage resolution, gathering only while a policy in
// force judges signatures or scans (Need).
//
// Package trusttest makes what cosign makes, for tests and benchmarks; the
// tests also verify signatures and attestations made by the real cosign.
package trust
