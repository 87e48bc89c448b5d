package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/subject"
)

// Evaluate judges one subject with its lineage against every policy in the
// set. now decides whether exceptions have expired and how old bases are.
func (s *Set) Evaluate(sub *subject.Subject, l lineage.Lineage, now time.Time) []Result {
	var out []Result
	for _, cp := range s.policies {
		out = cp.evaluate(sub, l, now, out)
	}
	return out
}

func (cp *compiledPolicy) evaluate(sub *subject.Subject, l lineage.Lineage, now time.Time, out []Result) []Result {
	pm := cp.match.applies(sub.Resource)
	if pm.t == no {
		return out
	}
	var buf [16]decision
	ds := buf[:0]
	for i := range cp.rules {
		ds = append(ds, cp.rules[i].match.applies(sub.Resource))
	}
	who := ""
	for i := range cp.rules {
		cr := &cp.rules[i]
		d := and(pm, ds[i])
		if d.t == no {
			continue
		}
		if who == "" {
			who = describe(sub)
		}
		action, actionWhy := cr.actions.actionFor(sub.Resource)
		res := Result{Policy: cp.p, Rule: cr.r, Action: action, Subject: sub, Lineage: l}
		if d.t == unknownNamespace {
			out = append(out, namespaceUnknown(res, cr, who))
			continue
		}
		v := cr.checkSubject(sub, l, now)
		cp.judge(&res, cr, who, v, ds)
		if res.Status == StatusFail || res.Status == StatusWarn {
			cp.applyException(&res, sub, l, now)
		}
		if res.Status != StatusPass {
			explainAssumptions(&res, d.assumed, actionWhy)
		}
		out = append(out, res)
	}
	return out
}

// namespaceUnknown is the result of a rule whose match depends on namespace
// labels that are unknown: skipped when nobody looked them up, an error
// when looking them up failed.
func namespaceUnknown(res Result, cr *compiledRule, who string) Result {
	ns := res.Subject.Resource.Namespace
	if err := res.Subject.Resource.NamespaceLabelsErr; err != nil {
		res.Status = StatusError
		res.Reason = fmt.Sprintf("the rule selects namespaces by label and the labels of namespace %q could not be read: %v", ns, err)
		res.Message = fmt.Sprintf("%s: cannot check rule %s: %s", who, cr.r.Name, res.Reason)
		return res
	}
	res.Status = StatusSkip
	res.Reason = fmt.Sprintf("the rule selects namespaces by label and the labels of namespace %q are not known (check reads them from Namespace manifests among its inputs, serve from the cluster unless --no-namespace-labels)", ns)
	res.Message = fmt.Sprintf("%s: rule %s skipped: %s", who, cr.r.Name, res.Reason)
	return res
}

// explainAssumptions adds to a result what its rule was applied without
// knowing, and why its action is what it is.
func explainAssumptions(res *Result, assumed []string, actionWhy string) {
	var parts []string
	if len(assumed) > 0 {
		parts = append(parts, "the rule applied without knowing "+strings.Join(assumed, " or ")+", which its match depends on")
	}
	if actionWhy != "" {
		parts = append(parts, actionWhy)
	}
	if len(parts) == 0 {
		return
	}
	note := " (" + strings.Join(parts, "; ") + ")"
	res.Reason += note
	res.Message += note
}

// outcome is what a rule concluded about a lineage, before actions.
type outcome int

const (
	passed outcome = iota
	failed
	notApplicable
	offline     // the rule needs a resolved lineage and none was asked for
	undecidable // resolving the lineage failed: the policy's onResolveError decides
	broken      // the rule or the reference cannot be checked
	vouched     // passed, and the result says on what evidence (a key, a scan)
)

type verdict struct {
	outcome outcome
	why     string
}

// check applies the rule's conditions to the lineage.
func (cr *compiledRule) check(l lineage.Lineage, now time.Time) verdict {
	r := cr.r
	if r.Untranslated != "" {
		if len(r.When) > 0 && l.Err == nil && len(l.Entries) > 0 && len(filter(l.Entries, r.When)) == 0 {
			return verdict{notApplicable, "no image in the lineage matches " + patternList(r.When)}
		}
		return verdict{broken, "this imported rule could not be translated: " + r.Untranslated}
	}
	if len(l.Entries) == 0 && l.Err != nil {
		return verdict{broken, l.Err.Error()}
	}
	entries, v, ok := scoped(r.Scope, l)
	if !ok {
		return v
	}
	if len(r.When) > 0 {
		entries = filter(entries, r.When)
		if len(entries) == 0 && l.Err != nil {
			return verdict{undecidable, "its lineage could not be resolved: " + l.Err.Error()}
		}
		if len(entries) == 0 {
			return verdict{notApplicable, "no image in the lineage matches " + patternList(r.When)}
		}
	}
	for _, e := range entries {
		if p, ok := firstMatch(r.Deny, e); ok {
			return verdict{failed, fmt.Sprintf("%s matches denied pattern %q", describeEntry(e), p)}
		}
	}
	// A lineage whose resolution failed part-way may hide a denied or an
	// allowed base: what it shows cannot pass a deny or fail an allow.
	partial := l.Err != nil
	if len(r.Allow) > 0 && !anyEvidenceMatch(r.Allow, entries) {
		switch {
		case partial:
			return verdict{undecidable, "its lineage could not be resolved: " + l.Err.Error()}
		case len(entries) == 0 && len(l.Entries) == 0:
			return verdict{failed, "it has no base image (FROM scratch), and the rule allows only " + patternList(r.Allow)}
		case len(entries) == 0:
			return verdict{failed, "no base image is known (none declared, none matched by layers), and the rule allows only " + patternList(r.Allow)}
		}
		why := fmt.Sprintf("%s matches none of the allowed patterns %s", describeEntries(entries), patternList(r.Allow))
		if claim, p, ok := claimMatch(r.Allow, entries); ok {
			why += fmt.Sprintf("; only %s matches %q, and it is a claim, not evidence: %s", describeEntry(claim), p, claimWhy(claim))
		}
		return verdict{failed, why}
	}
	if partial && len(r.Deny) > 0 {
		return verdict{undecidable, "its lineage could not be resolved: " + l.Err.Error()}
	}
	if v := checkBases(r, l, now); v.outcome != passed {
		return v
	}
	return checkTrustRules(r, entries, l, now)
}

// scoped returns the lineage entries a rule's scope looks at, or the
// verdict when they cannot be known: bases need a resolved lineage. For an
// image the lineage starts with the image itself; for a Dockerfile with the
// FROM image, the base of what is built.
func scoped(scope Scope, l lineage.Lineage) ([]lineage.Entry, verdict, bool) {
	if scope == "" || scope == ScopeLineage {
		return l.Entries, verdict{}, true
	}
	self := 0
	if len(l.Entries) > 0 && l.Entries[0].Source == lineage.SourceReference {
		self = 1
	}
	if scope == ScopeImage {
		return l.Entries[:self], verdict{}, true
	}
	if self == 1 && !l.Resolved && l.Err == nil {
		return nil, verdict{offline, fmt.Sprintf("the rule looks at the image's %s, which needs its resolved lineage (run with --resolve)", scopeWords[scope])}, false
	}
	bases := l.Entries[self:]
	if len(bases) == 0 && l.Err != nil {
		return nil, verdict{undecidable, "its lineage could not be resolved: " + l.Err.Error()}, false
	}
	if scope == ScopeBase && len(bases) > 1 {
		bases = bases[:1]
	}
	return bases, verdict{}, true
}

var scopeWords = map[Scope]string{ScopeBase: "direct base", ScopeBases: "bases"}

// checkBases applies the rules about base facts, which need a resolved
// lineage.
func checkBases(r *Rule, l lineage.Lineage, now time.Time) verdict {
	if !r.RequireBase && !r.RequireVerifiedBase && !r.RequireCurrentBase && r.MaxBaseAge.Duration == 0 {
		return verdict{passed, ""}
	}
	if l.Err != nil {
		return verdict{undecidable, "its lineage could not be resolved: " + l.Err.Error()}
	}
	if !l.Resolved {
		return verdict{offline, "the rule needs the image's resolved lineage (run with --resolve)"}
	}
	bases := l.Bases()
	if len(bases) == 0 {
		return verdict{failed, "no base image is known: the image declares none (annotation, provenance, buildinfo, buildpacks) and none of the catalog's bases matches its layers"}
	}
	base := bases[0]
	if r.RequireVerifiedBase && !base.Verified {
		why := fmt.Sprintf("its base %s is declared but not verified by layers", describeEntry(base))
		if len(base.Problems) > 0 {
			why += ": " + strings.Join(base.Problems, "; ")
		}
		return verdict{failed, why}
	}
	if r.RequireCurrentBase {
		for _, b := range bases {
			if b.Current != nil && !*b.Current {
				return verdict{failed, fmt.Sprintf("base %s is outdated: its tag now points at %s", describeEntry(b), b.LatestDigest)}
			}
		}
	}
	if max := r.MaxBaseAge.Duration; max > 0 {
		if base.Created.IsZero() {
			return verdict{failed, fmt.Sprintf("the age of base %s is unknown and the rule allows at most %s", describeEntry(base), r.MaxBaseAge.text)}
		}
		if age := now.Sub(base.Created); age > max {
			return verdict{failed, fmt.Sprintf("base %s was built %s ago, more than %s", describeEntry(base), roundAge(age), r.MaxBaseAge.text)}
		}
	}
	return verdict{passed, ""}
}

// judge turns a rule's outcome into the result's status, its message
// naming the container, the image, its base, the rule, why, and what to use
// instead, and those parts on their own (Reason, UseInstead).
func (cp *compiledPolicy) judge(res *Result, cr *compiledRule, who string, v verdict, ds []decision) {
	res.Reason = v.why
	switch v.outcome {
	case passed:
		res.Status, res.Message = StatusPass, fmt.Sprintf("%s: rule %s passed", who, cr.r.Name)
		return
	case vouched:
		res.Status, res.Message = StatusPass, fmt.Sprintf("%s: rule %s passed: %s", who, cr.r.Name, v.why)
		return
	case notApplicable:
		res.Status, res.Message = StatusPass, fmt.Sprintf("%s: rule %s does not apply: %s", who, cr.r.Name, v.why)
		return
	case broken:
		res.Status, res.Message = StatusError, fmt.Sprintf("%s: cannot check rule %s: %s", who, cr.r.Name, v.why)
		return
	case offline:
		res.Status, res.Message = StatusSkip, fmt.Sprintf("%s: rule %s skipped: %s", who, cr.r.Name, v.why)
		return
	case undecidable:
		cp.onUnresolved(res, cr, who, v.why)
		return
	}
	res.Status = StatusFail
	if res.Action == Warn {
		res.Status = StatusWarn
	}
	res.Message = fmt.Sprintf("%s: %s", who, v.why)
	if cr.r.Message != "" {
		res.Message = cr.r.Message + ": " + res.Message
	}
	if alt := cp.alternatives(ds); alt != "" && len(cr.r.Allow) == 0 {
		res.UseInstead = alt
		res.Message += "; use instead: " + alt
	}
}

// onUnresolved applies the policy's onResolveError choice.
func (cp *compiledPolicy) onUnresolved(res *Result, cr *compiledRule, who, why string) {
	choice := cp.onResolveError(res.Action)
	switch choice {
	case "allow":
		res.Status = StatusPass
	case "warn":
		res.Status = StatusWarn
	default:
		res.Status = StatusError
	}
	res.Reason = fmt.Sprintf("undecided: %s (onResolveError: %s)", why, choice)
	res.Message = fmt.Sprintf("%s: rule %s %s", who, cr.r.Name, res.Reason)
}

func (cp *compiledPolicy) onResolveError(a Action) string {
	if v := cp.p.Spec.OnResolveError; v != "" {
		return v
	}
	if a == Enforce {
		return "deny"
	}
	return "warn"
}

// alternatives lists the allow patterns of the policy's rules that apply
// to the subject (ds: each rule's match decision) regardless of version:
// what a failing subject may use.
func (cp *compiledPolicy) alternatives(ds []decision) string {
	var alts []string
	seen := map[string]bool{}
	for i := range cp.rules {
		cr := &cp.rules[i]
		if len(cr.r.When) > 0 || ds[i].t != yes {
			continue
		}
		for _, p := range cr.r.Allow {
			if !seen[p.String()] {
				seen[p.String()] = true
				alts = append(alts, p.String())
			}
		}
	}
	if len(alts) == 0 {
		return ""
	}
	return strings.Join(alts, ", ")
}

func (cp *compiledPolicy) applyException(res *Result, sub *subject.Subject, l lineage.Lineage, now time.Time) {
	for i := range cp.p.Spec.Exceptions {
		ex := &cp.p.Spec.Exceptions[i]
		if !ex.covers(res.Rule.Name, sub, l, anyEvidenceMatch) {
			if ex.covers(res.Rule.Name, sub, l, anyClaimMatch) {
				note := fmt.Sprintf(" (exception %s does not apply: the image it names is only claimed, not verified, in this lineage)", ex.Name)
				res.Message += note
				res.Reason += note
			}
			continue
		}
		if ex.Expires != nil && !now.Before(ex.Expires.Time) {
			res.Exception = ex.Name
			expired := fmt.Sprintf(" (exception %s expired on %s)", ex.Name, ex.Expires)
			res.Message += expired
			res.Reason += expired
			continue
		}
		res.Status = StatusSkip
		res.Exception = ex.Name
		until := ""
		if ex.Expires != nil {
			until = " until " + ex.Expires.String()
		}
		res.Reason = fmt.Sprintf("excepted by %s%s (%s); without it: %s", ex.Name, until, ex.Reason, res.Reason)
		res.Message = fmt.Sprintf("excepted by %s%s (%s); without it: %s", ex.Name, until, ex.Reason, res.Message)
		return
	}
}

// covers reports whether the exception's scope holds for a rule's result
// on a subject; images tells whether the lineage matches its images.
func (ex *Exception) covers(rule string, sub *subject.Subject, l lineage.Lineage, images func([]Pattern, []lineage.Entry) bool) bool {
	res := sub.Resource
	if len(ex.Rules) > 0 && !contains(ex.Rules, rule) {
		return false
	}
	if len(ex.Namespaces) > 0 && !globAny(ex.Namespaces, res.Namespace) {
		return false
	}
	if len(ex.Kinds) > 0 && !contains(ex.Kinds, res.Kind) {
		return false
	}
	if len(ex.Resources) > 0 && !globAny(ex.Resources, res.Name) && !globAny(ex.Resources, res.Kind+"/"+res.Name) {
		return false
	}
	if len(ex.Images) > 0 && !images(ex.Images, l.Entries) {
		return false
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func filter(entries []lineage.Entry, ps []Pattern) []lineage.Entry {
	var out []lineage.Entry
	for _, e := range entries {
		if _, ok := firstMatch(ps, e); ok {
			out = append(out, e)
		}
	}
	return out
}

// firstMatch returns the first pattern the entry matches, in any form it
// was known by: a tag written beside a digest and not confirmed still
// counts here, where matching makes a rule stricter (deny, when).
func firstMatch(ps []Pattern, e lineage.Entry) (string, bool) {
	for _, p := range ps {
		if p.Match(e.Ref) || (e.AsWritten != nil && p.Match(*e.AsWritten)) {
			return p.String(), true
		}
	}
	return "", false
}

// evidenceMatch returns the first pattern an entry matches when the entry
// is evidence (the image, a FROM, a verified base), as it runs (the digest
// alone when its tag was not confirmed): what satisfies allow rules and
// exceptions.
func evidenceMatch(ps []Pattern, e *lineage.Entry) (string, bool) {
	if !e.Evidence() {
		return "", false
	}
	for _, p := range ps {
		if p.Match(e.Ref) {
			return p.String(), true
		}
	}
	return "", false
}

func anyEvidenceMatch(ps []Pattern, entries []lineage.Entry) bool {
	for i := range entries {
		if _, ok := evidenceMatch(ps, &entries[i]); ok {
			return true
		}
	}
	return false
}

func anyClaimMatch(ps []Pattern, entries []lineage.Entry) bool {
	_, _, ok := claimMatch(ps, entries)
	return ok
}

// claimMatch finds an entry that matches a pattern only as a claim: a base
// declared but not verified, or a tag not confirmed.
func claimMatch(ps []Pattern, entries []lineage.Entry) (lineage.Entry, string, bool) {
	for _, e := range entries {
		if p, ok := firstMatch(ps, e); ok {
			return e, p, true
		}
	}
	return lineage.Entry{}, "", false
}

// claimWhy says why a matching entry is not evidence.
func claimWhy(e lineage.Entry) string {
	if !e.Evidence() {
		if len(e.Problems) > 0 {
			return strings.Join(e.Problems, "; ")
		}
		return "its layers are not verified to be a prefix of the image's"
	}
	for _, p := range e.Problems {
		if strings.HasPrefix(p, lineage.TagDisagrees) {
			return p
		}
	}
	return fmt.Sprintf("%s: the tag written beside its digest (%s) is not confirmed by the registry", lineage.TagDisagrees, e.AsWritten.Familiar())
}

func patternList(ps []Pattern) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// describe names a subject for people: which container, which field, which
// image.
func describe(sub *subject.Subject) string {
	if sub.Resource.Kind == subject.KindDockerfile {
		stage := ""
		if sub.Container != "" {
			stage = fmt.Sprintf(" (stage %s)", sub.Container)
		}
		if sub.Platform != "" {
			stage += " (" + sub.Platform + ")"
		}
		return fmt.Sprintf("%s%s %s %s", sub.Resource.Name, stage, sub.Field, sub.Image)
	}
	return fmt.Sprintf("container %q (%s) image %s", sub.Container, sub.Field, sub.Image)
}

func describeEntry(e lineage.Entry) string {
	ref := e.Ref.Canonical()
	if e.AsWritten != nil {
		ref += fmt.Sprintf(" (written %s, the tag unconfirmed)", e.AsWritten.Familiar())
	}
	if e.Source == lineage.SourceReference || e.Source == lineage.SourceDockerfile {
		return ref
	}
	if !e.Verified {
		return fmt.Sprintf("base %s (claimed by %s, not verified)", ref, e.Source)
	}
	return fmt.Sprintf("base %s (from %s)", ref, e.Source)
}

func describeEntries(es []lineage.Entry) string {
	if len(es) == 1 {
		return describeEntry(es[0])
	}
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = describeEntry(e)
	}
	return "its lineage " + strings.Join(s, " <- ")
}

func roundAge(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	return d.Round(time.Minute).String()
}
