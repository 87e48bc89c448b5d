package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/report"
)

// What inspect shows of an entry's signatures and attestations: each one
// found, what it names, and which of the policies' keys verifies it (or
// why none does).

// trustView renders trust facts against the keys of the policies given.
type trustView struct {
	keys []lineage.PublicKey
	now  time.Time
}

// signedJ is a signature or attestation in inspect's JSON.
type signedJ struct {
	Layout        string `json:"layout"`
	Where         string `json:"where"`
	PredicateType string `json:"predicateType,omitempty"`
	// Digests are what its payload names; For says what that is to the
	// entry: "image", "index" (an index listing it) or "other".
	Digests []string `json:"digests,omitempty"`
	For     string   `json:"for,omitempty"`
	// VerifiedBy is the first policy key that verifies it; NotVerified
	// why none does (only when keys were given).
	VerifiedBy  string `json:"verifiedBy,omitempty"`
	NotVerified string `json:"notVerified,omitempty"`
	Scan        *scanJ `json:"scan,omitempty"`
	Error       string `json:"error,omitempty"`
}

type scanJ struct {
	Scanner  string         `json:"scanner"`
	Finished time.Time      `json:"finished"`
	Counts   map[string]int `json:"counts"`
}

// trustJ is an entry's trust facts in inspect's JSON.
type trustJ struct {
	Indexes      []string  `json:"indexes,omitempty"`
	Signatures   []signedJ `json:"signatures"`
	Attestations []signedJ `json:"attestations"`
	Problems     []string  `json:"problems,omitempty"`
	Error        string    `json:"error,omitempty"`
}

func (v trustView) json(e lineage.Entry) *trustJ {
	t := e.Trust
	if t == nil {
		return nil
	}
	out := &trustJ{Indexes: t.Indexes, Signatures: []signedJ{}, Attestations: []signedJ{}, Problems: t.Problems}
	if t.Err != nil {
		out.Error = t.Err.Error()
	}
	for i := range t.Signatures {
		out.Signatures = append(out.Signatures, v.signed(e, &t.Signatures[i]))
	}
	for i := range t.Attestations {
		out.Attestations = append(out.Attestations, v.signed(e, &t.Attestations[i]))
	}
	return out
}

func (v trustView) signed(e lineage.Entry, s *lineage.Signed) signedJ {
	j := signedJ{Layout: s.Layout, Where: s.Where, PredicateType: s.PredicateType, Digests: s.Digests, For: namedFor(e, s), Error: s.Problem}
	if s.ScanErr != "" {
		j.Error = s.ScanErr
	}
	if s.Scan != nil {
		j.Scan = &scanJ{Scanner: s.Scan.Scanner, Finished: s.Scan.Finished, Counts: counts(s.Scan.Findings)}
	}
	if s.Verifier == nil || len(v.keys) == 0 {
		return j
	}
	var whys []string
	for _, k := range v.keys {
		err := s.Verifier.Verify(k, nil)
		if err == nil {
			j.VerifiedBy = k.Name
			return j
		}
		whys = append(whys, err.Error())
	}
	j.NotVerified = strings.Join(whys, "; ")
	return j
}

// namedFor says what a signature's digests are to the entry.
func namedFor(e lineage.Entry, s *lineage.Signed) string {
	if len(s.Digests) == 0 {
		return ""
	}
	for _, d := range s.Digests {
		if d == e.Digest {
			return "image"
		}
	}
	for _, d := range s.Digests {
		for _, idx := range e.Trust.Indexes {
			if d == idx {
				return "index"
			}
		}
	}
	return "other"
}

func counts(fs []lineage.Finding) map[string]int {
	c := map[string]int{}
	for s := lineage.SeverityUnknown; s <= lineage.SeverityCritical; s++ {
		c[s.String()] = 0
	}
	for _, f := range fs {
		c[f.Severity.String()]++
	}
	return c
}

// text writes an entry's trust facts under it, indented.
func (v trustView) text(b *strings.Builder, indent string, e lineage.Entry) {
	t := e.Trust
	if t == nil {
		return
	}
	if t.Err != nil {
		fmt.Fprintf(b, "%s! signatures not looked up: %s\n", indent, report.Printable(t.Err.Error()))
		return
	}
	if len(t.Signatures) == 0 {
		fmt.Fprintf(b, "%sno signature found\n", indent)
	}
	for i := range t.Signatures {
		v.line(b, indent, "signature", v.signed(e, &t.Signatures[i]))
	}
	for i := range t.Attestations {
		v.line(b, indent, "attestation", v.signed(e, &t.Attestations[i]))
	}
	for _, p := range t.Problems {
		fmt.Fprintf(b, "%s! %s\n", indent, report.Printable(p))
	}
}

func (v trustView) line(b *strings.Builder, indent, kind string, j signedJ) {
	what := kind
	if j.Scan != nil || (j.PredicateType != "" && strings.Contains(j.PredicateType, "vuln")) {
		what = "scan"
	}
	fmt.Fprintf(b, "%s%-9s %-8s", indent, what, j.Layout)
	switch j.For {
	case "image":
		b.WriteString("  for this image")
	case "index":
		b.WriteString("  for its index " + short(j.Digests[0]))
	case "other":
		b.WriteString("  for ANOTHER image " + short(j.Digests[0]))
	}
	if s := j.Scan; s != nil {
		fmt.Fprintf(b, "  %s, finished %s (%s ago): %d critical, %d high, %d medium, %d low", report.Printable(s.Scanner), s.Finished.UTC().Format(time.DateOnly), age(v.now.Sub(s.Finished)), s.Counts["critical"], s.Counts["high"], s.Counts["medium"], s.Counts["low"])
	} else if j.PredicateType != "" {
		b.WriteString("  " + report.Printable(j.PredicateType))
	}
	switch {
	case j.Error != "":
		b.WriteString("  UNREADABLE: " + report.Printable(j.Error))
	case j.VerifiedBy != "":
		b.WriteString("  verified by " + report.Printable(j.VerifiedBy))
	case j.NotVerified != "":
		b.WriteString("  NOT VERIFIED: " + report.Printable(j.NotVerified))
	case len(v.keys) == 0:
		b.WriteString("  (give --policy to verify with its keys)")
	}
	b.WriteString("\n")
}

func age(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future"
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return d.Round(time.Minute).String()
}
