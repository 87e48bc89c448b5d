package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/baseguard/baseguard/lineage"
)

// listed is how many CVEs or reasons a message names before it counts the
// rest.
const listed = 5

// checkTrust applies signedBy and vulnerabilities to the entries the rule
// looks at: each must pass. It judges facts a resolver gathered (Entry.Trust)
// and verifies nothing itself but through the facts' Verifiers.
func checkTrustRules(r *Rule, entries []lineage.Entry, l lineage.Lineage, now time.Time) verdict {
	if len(r.signers()) == 0 {
		return verdict{passed, ""}
	}
	if !l.Resolved {
		return verdict{offline, "the rule judges signatures and scans, which need the image's resolved lineage (run with --resolve)"}
	}
	var whys []string
	for i := range entries {
		e := &entries[i]
		if r.SignedBy != nil {
			v := checkSignedBy(r.SignedBy, e)
			if v.outcome != passed {
				return v
			}
			whys = append(whys, v.why)
		}
		if r.Vulnerabilities != nil {
			v := checkScan(r.Vulnerabilities, e, now)
			if v.outcome != passed {
				return v
			}
			whys = append(whys, v.why)
		}
	}
	if l.Err != nil {
		return verdict{undecidable, "its lineage could not be resolved, and an unresolved base may be unsigned: " + l.Err.Error()}
	}
	return verdict{vouched, strings.Join(whys, "; ")}
}

// trustFacts returns an entry's facts, or the verdict when there are none
// to judge.
func trustFacts(e *lineage.Entry, what string) (*lineage.Trust, *verdict) {
	switch {
	case e.Digest == "":
		return nil, &verdict{failed, fmt.Sprintf("%s has no known digest, so its %s cannot be checked: %s", describeEntry(*e), what, strings.Join(e.Problems, "; "))}
	case e.Trust == nil:
		return nil, &verdict{broken, fmt.Sprintf("the %s of %s were not looked up (the resolver gathers them when the policies in force at its start ask for them)", what, describeEntry(*e))}
	case e.Trust.Err != nil:
		return nil, &verdict{undecidable, fmt.Sprintf("looking for the %s of %s failed: %v", what, describeEntry(*e), e.Trust.Err)}
	}
	return e.Trust, nil
}

// targets are the digests a signature of the entry may name: its own, and
// those of indexes found to list it.
func targets(e *lineage.Entry) []string {
	return append([]string{e.Digest}, e.Trust.Indexes...)
}

func namesAny(digests, targets []string) bool {
	for _, d := range digests {
		if slices.Contains(targets, d) {
			return true
		}
	}
	return false
}

// verifiedBy returns the first of the keys that verifies s, or the errors.
func verifiedBy(s *lineage.Signed, sg *Signers) (*Key, []string) {
	if s.Verifier == nil {
		return nil, []string{s.Problem}
	}
	var root *lineage.TrustedRoot
	if sg.TrustedRoot != nil {
		root = &sg.TrustedRoot.TrustedRoot
	}
	var errs []string
	for i := range sg.Keys {
		k := &sg.Keys[i]
		err := s.Verifier.Verify(k.PublicKey, root)
		if err == nil {
			return k, nil
		}
		errs = append(errs, fmt.Sprintf("%s at %s: %v", kindOf(s), s.Where, err))
	}
	return nil, errs
}

func kindOf(s *lineage.Signed) string {
	if s.Layout == lineage.LayoutReferrer {
		return "bundle"
	}
	return "signature"
}

// checkSignedBy passes when a signature of the entry verifies with one of
// the keys and names the entry's digest or an index listing it.
func checkSignedBy(sg *Signers, e *lineage.Entry) verdict {
	t, v := trustFacts(e, "signatures")
	if v != nil {
		return *v
	}
	var failures []string
	unreadable := slices.Clone(t.Problems)
	for i := range t.Signatures {
		s := &t.Signatures[i]
		if s.Verifier == nil {
			unreadable = append(unreadable, s.Problem)
			continue
		}
		k, errs := verifiedBy(s, sg)
		if k == nil {
			failures = append(failures, errs...)
			continue
		}
		if namesAny(s.Digests, targets(e)) {
			return verdict{passed, fmt.Sprintf("%s is signed by %s (%s layout)%s", describeEntry(*e), k.Name, s.Layout, tlogNote(sg))}
		}
		failures = append(failures, fmt.Sprintf("the signature at %s by %s is for %s, not for this image (%s) or an index listing it", s.Where, k.Name, strings.Join(s.Digests, ", "), e.Digest))
	}
	if len(unreadable) > 0 {
		// What could not be read may be the signature that counts.
		return verdict{broken, fmt.Sprintf("no signature of %s by %s counts, and some could not be read: %s", describeEntry(*e), keyNames(sg), firstFew(append(unreadable, failures...)))}
	}
	if len(t.Signatures) == 0 {
		return verdict{failed, fmt.Sprintf("%s is not signed: no signature found (looked at %s)", describeEntry(*e), strings.Join(t.Looked, ", "))}
	}
	return verdict{failed, fmt.Sprintf("%s is not signed by %s: %d signature(s) found, none counts: %s", describeEntry(*e), keyNames(sg), len(t.Signatures), firstFew(failures))}
}

func tlogNote(sg *Signers) string {
	if sg.TrustedRoot == nil {
		return "; no transparency-log entry required (no trustedRoot)"
	}
	return "; its transparency-log entry verifies against " + sg.TrustedRoot.Name
}

func keyNames(sg *Signers) string {
	names := make([]string, len(sg.Keys))
	for i, k := range sg.Keys {
		names[i] = k.Name
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// firstFew joins the first few items and counts the rest.
func firstFew(items []string) string {
	if len(items) <= listed {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:listed], "; ") + fmt.Sprintf("; and %d more", len(items)-listed)
}
