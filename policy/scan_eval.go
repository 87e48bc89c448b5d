package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/baseguard/baseguard/lineage"
)

// checkScan passes when the newest scan of the entry attested by one of
// the gate's keys is fresh and has no finding at or above failOn that an
// unexpired ignore covers.
func checkScan(g *VulnerabilityGate, e *lineage.Entry, now time.Time) verdict {
	t, v := trustFacts(e, "scan attestations")
	if v != nil {
		return *v
	}
	newest, key, failures, unreadable := newestScan(g, e, t)
	if unreadable != nil {
		return verdict{broken, fmt.Sprintf("the scan attestation of %s at %s, attested by %s, cannot be read: %s", describeEntry(*e), unreadable.Where, key.Name, unreadable.ScanErr)}
	}
	if newest == nil {
		problems := slices.Clone(t.Problems)
		for i := range t.Attestations {
			if a := &t.Attestations[i]; a.Verifier == nil {
				problems = append(problems, a.Problem)
			}
		}
		if len(problems) > 0 {
			// What could not be read may be the scan that counts.
			return verdict{broken, fmt.Sprintf("no vulnerability scan of %s attested by %s counts, and some attestations could not be read: %s", describeEntry(*e), keyNames(g.signers()), firstFew(append(problems, failures...)))}
		}
		n := countScans(t)
		if n == 0 {
			return verdict{failed, fmt.Sprintf("%s has no vulnerability scan attestation (looked at %s)", describeEntry(*e), strings.Join(t.Looked, ", "))}
		}
		return verdict{failed, fmt.Sprintf("%s has no vulnerability scan attested by %s: %d scan attestation(s) found, none counts: %s", describeEntry(*e), keyNames(g.signers()), n, firstFew(failures))}
	}
	s := newest.Scan
	age := now.Sub(s.Finished)
	summary := fmt.Sprintf("%s scan of %s, finished %s ago (%s): %s", s.Scanner, describeEntry(*e), roundAge(max(age, 0)), s.Finished.UTC().Format(time.RFC3339), countSeverities(s.Findings))
	if g.MaxScanAge.Duration > 0 && age > g.MaxScanAge.Duration {
		return verdict{failed, fmt.Sprintf("the newest %s: older than maxScanAge %s", summary, g.MaxScanAge.text)}
	}
	failing, notes := failingFindings(g, s.Findings, now)
	if len(failing) > 0 {
		why := fmt.Sprintf("the newest %s; %d at or above %s: %s", summary, len(failing), g.FailOn.text, firstFew(failing))
		if len(notes) > 0 {
			why += " (" + strings.Join(notes, "; ") + ")"
		}
		return verdict{failed, why}
	}
	why := fmt.Sprintf("%s, attested by %s", summary, key.Name)
	if len(notes) > 0 {
		why += " (" + strings.Join(notes, "; ") + ")"
	}
	return verdict{passed, why}
}

// isScan reports whether an attestation is a vulnerability scan.
func isScan(s *lineage.Signed) bool { return s.Scan != nil || s.ScanErr != "" }

func countScans(t *lineage.Trust) int {
	n := 0
	for i := range t.Attestations {
		if isScan(&t.Attestations[i]) {
			n++
		}
	}
	return n
}

// newestScan finds, among the entry's scan attestations that verify with
// one of the keys and name its digest, the one that finished last. A
// verified one that cannot be read is returned as unreadable: an unknown
// layout is an error, never a pass.
func newestScan(g *VulnerabilityGate, e *lineage.Entry, t *lineage.Trust) (newest *lineage.Signed, key *Key, failures []string, unreadable *lineage.Signed) {
	for i := range t.Attestations {
		a := &t.Attestations[i]
		if !isScan(a) {
			continue
		}
		k, errs := verifiedBy(a, g.signers())
		switch {
		case k == nil:
			failures = append(failures, errs...)
		case !namesAny(a.Digests, targets(e)):
			failures = append(failures, fmt.Sprintf("the scan at %s by %s is for %s, not for this image (%s) or an index listing it", a.Where, k.Name, strings.Join(a.Digests, ", "), e.Digest))
		case a.Scan == nil:
			return nil, k, nil, a
		case newest == nil || a.Scan.Finished.After(newest.Scan.Finished):
			newest, key = a, k
		}
	}
	return newest, key, failures, nil
}

// failingFindings lists the findings at or above failOn that no unexpired
// ignore covers, worst first, and notes about ignores.
func failingFindings(g *VulnerabilityGate, fs []lineage.Finding, now time.Time) (failing, notes []string) {
	sorted := slices.Clone(fs)
	slices.SortStableFunc(sorted, func(a, b lineage.Finding) int { return int(b.Severity) - int(a.Severity) })
	for _, f := range sorted {
		if f.Severity < g.FailOn.Severity {
			continue
		}
		ig := ignoreOf(g, f)
		switch {
		case ig == nil:
			failing = append(failing, fmt.Sprintf("%s (%s)", f.ID, f.Severity))
		case !now.Before(ig.Expires.Time):
			failing = append(failing, fmt.Sprintf("%s (%s)", f.ID, f.Severity))
			notes = append(notes, fmt.Sprintf("the ignore of %s expired on %s and no longer applies", ig.ID, ig.Expires))
		default:
			notes = append(notes, fmt.Sprintf("%s (%s) ignored until %s: %s", f.ID, f.Severity, ig.Expires, ig.Reason))
		}
	}
	return failing, notes
}

// ignoreOf finds the ignore entry naming a finding by its ID or an alias.
func ignoreOf(g *VulnerabilityGate, f lineage.Finding) *VulnerabilityIgnore {
	for i := range g.Ignore {
		ig := &g.Ignore[i]
		id := strings.TrimSpace(ig.ID)
		if strings.EqualFold(id, f.ID) || slices.ContainsFunc(f.Aliases, func(a string) bool { return strings.EqualFold(a, id) }) {
			return ig
		}
	}
	return nil
}

// countSeverities says how many findings of each severity, worst first.
func countSeverities(fs []lineage.Finding) string {
	var n [lineage.SeverityCritical + 1]int
	for _, f := range fs {
		n[f.Severity]++
	}
	var parts []string
	for s := lineage.SeverityCritical; s >= lineage.SeverityUnknown; s-- {
		if n[s] > 0 || s >= lineage.SeverityLow {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(parts, ", ")
}
