package lineage

import "time"

// Trust is what a registry holds beside an entry's image: the signatures
// and in-toto attestations attached to it (or to an index that lists it),
// as found and parsed, not yet judged. Which of them count is the policy's
// decision: a signature counts when it verifies with one of a rule's keys
// and names the entry's digest or one of Indexes.
type Trust struct {
	// Indexes are the digests of image indexes found to list the entry's
	// manifest: cosign signs what a tag points at, often an index.
	Indexes []string
	// Signatures are cosign signatures: simple-signing payloads (the tag
	// layout) and Sigstore bundles whose predicate type is cosign's
	// signature predicate.
	Signatures []Signed
	// Attestations are in-toto statements in DSSE envelopes (the tag
	// layout's .att manifests and Sigstore bundles).
	Attestations []Signed
	// Looked says where signatures were looked for, for messages.
	Looked []string
	// Problems are things found that cannot count: malformed, oversized,
	// more than were read.
	Problems []string
	// Err is why looking failed (a registry that failed, a deadline): the
	// policy's onResolveError decides, it is never a pass.
	Err error
}

// Signed is one signature or attestation as found.
type Signed struct {
	// Layout is where it was found: LayoutTag or LayoutReferrer.
	Layout string
	// Where is the manifest holding it, repo@digest.
	Where string
	// Digests are the image digests its signed payload names. They are
	// what it claims until a key verifies it.
	Digests []string
	// PredicateType is the in-toto predicate type of an attestation.
	PredicateType string
	// Scan is the vulnerability scan an attestation carries; ScanErr why
	// a scan predicate could not be read.
	Scan    *Scan
	ScanErr string
	// Problem says why it can never verify (malformed); Verifier is then
	// nil.
	Problem  string
	Verifier Verifier
}

// The layouts signatures are stored in.
const (
	// LayoutTag: cosign's tag layout, repo:sha256-<hex>.sig and .att.
	LayoutTag = "tag"
	// LayoutReferrer: a Sigstore bundle attached as an OCI 1.1 referrer
	// (the referrers API, or its sha256-<hex> tag fallback).
	LayoutReferrer = "referrer"
)

// PublicKey is a key a policy trusts: its PEM and an ID that names the key
// whatever its spelling (sha256 of its DER SubjectPublicKeyInfo).
type PublicKey struct {
	ID   string
	Name string // as written in the policy: a path, or "inline key"
	PEM  []byte
}

// TrustedRoot is a Sigstore trusted root (trusted_root.json) whose
// transparency logs a signature's log entry must verify against.
type TrustedRoot struct {
	ID   string
	Name string
	JSON []byte
}

// Verifier checks a signature with a key and, when root is not nil, its
// transparency-log entry against that root. Implementations memoize and
// are safe for concurrent use; they do no I/O.
type Verifier interface {
	Verify(key PublicKey, root *TrustedRoot) error
}

// Scan is a vulnerability scan as an attestation reports it.
type Scan struct {
	// Scanner is the scanner and its version, e.g. "trivy 0.58.1".
	Scanner string
	// Finished is when the scan finished (scanFinishedOn).
	Finished time.Time
	// Findings are the vulnerabilities found, one per ID, at the highest
	// severity reported for it.
	Findings []Finding
}

// Finding is one vulnerability.
type Finding struct {
	ID       string
	Severity Severity
	// Aliases are other IDs of the same vulnerability (a GHSA for a CVE).
	Aliases []string
}

// Severity is a vulnerability's severity, ordered.
type Severity int

// The severities, lowest first. Negligible and unknown findings are
// counted but never fail a rule.
const (
	SeverityUnknown Severity = iota
	SeverityNegligible
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"unknown", "negligible", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "unknown"
	}
	return severityNames[s]
}

// ParseSeverity reads a severity in any case ("CRITICAL", "High"); an
// unknown word is SeverityUnknown and false.
func ParseSeverity(s string) (Severity, bool) {
	for i, n := range severityNames {
		if equalFold(s, n) {
			return Severity(i), true
		}
	}
	return SeverityUnknown, false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
