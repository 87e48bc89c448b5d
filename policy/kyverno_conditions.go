package policy

import (
	"fmt"
	"slices"
	"strings"
)

// imagePred is a translated condition on one image: it holds when the
// image (or, for base, its declared base) matches one of pats, or when
// negated, none of them. exact is false when pats match more than the
// condition names: fit for a deny, not for an allow or a precondition.
type imagePred struct {
	pats        []Pattern
	negated     bool
	exact       bool
	base        bool
	requireBase bool // the base must be known
	never       bool // the condition holds for no image
}

// conditionSet is a translated any/all condition block: the admission
// operations it holds for, the resources it holds for, and what it says
// of each image.
type conditionSet struct {
	// why is set when the block cannot be translated exactly.
	why string
	// never: the block holds for nothing baseguard judges.
	never bool
	// ops are the admission operations it holds for; nil for both.
	ops []string
	// filters are resource criteria that must all hold.
	filters []Filter
	preds   []imagePred
}

// condResult is one translated condition: on the operation (ops), on the
// resource (filter), or on each image (pred); why when untranslatable.
type condResult struct {
	ops    []string
	isOps  bool
	filter *Filter
	pred   *imagePred
	why    string
}

// conditions returns the conditions of a Kyverno condition block: a list
// (all must hold), or {any: [...], all: [...]}.
func conditions(v any) (anyOf, allOf []obj) {
	for _, c := range asList(v) {
		allOf = append(allOf, asObj(c))
	}
	m := asObj(v)
	for _, c := range asList(m["any"]) {
		anyOf = append(anyOf, asObj(c))
	}
	for _, c := range asList(m["all"]) {
		allOf = append(allOf, asObj(c))
	}
	return anyOf, allOf
}

// conditionSet translates a condition block. Kyverno holds a block when
// one of any holds (if any are given) and all of all hold.
func (t *translator) conditionSet(v any, ctx *condContext) conditionSet {
	anyOf, allOf := conditions(v)
	if len(anyOf) == 1 {
		anyOf, allOf = nil, append(allOf, anyOf[0]) // one alternative must hold
	}
	var cs conditionSet
	anyOps, allOps := [][]string{}, [][]string{}
	var anyPreds, allPreds []imagePred
	for i, group := range [][]obj{anyOf, allOf} {
		for _, c := range group {
			r := t.condition(c, ctx)
			switch {
			case r.why != "":
				return conditionSet{why: r.why}
			case r.filter != nil && i == 0:
				return conditionSet{why: "its conditions on the resource are alternatives (any), which baseguard joins only with and"}
			case r.filter != nil:
				cs.filters = append(cs.filters, *r.filter)
			case r.isOps && i == 0:
				anyOps = append(anyOps, r.ops)
			case r.isOps:
				allOps = append(allOps, r.ops)
			case i == 0:
				anyPreds = append(anyPreds, *r.pred)
			default:
				allPreds = append(allPreds, *r.pred)
			}
		}
	}
	if len(anyOps) > 0 && len(anyPreds) > 0 {
		return conditionSet{why: "its conditions mix the admission operation and images under any"}
	}
	cs.ops, cs.never, cs.why = t.operationSet(anyOps, allOps)
	if cs.why != "" || cs.never {
		return cs
	}
	cs.preds, cs.never, cs.why = combinePreds(anyPreds, allPreds, ctx)
	return cs
}

// operationSet joins the operation conditions: one of anyOps and all of
// allOps. Outside admission is read as Kyverno's background scans.
func (t *translator) operationSet(anyOps, allOps [][]string) (ops []string, never bool, why string) {
	if len(anyOps) == 0 && len(allOps) == 0 {
		return nil, false, ""
	}
	set := []string{"CREATE", "UPDATE", "BACKGROUND"}
	if len(anyOps) > 0 {
		var union []string
		for _, o := range anyOps {
			union = merge(union, o)
		}
		set = intersect(set, union)
	}
	for _, o := range allOps {
		set = intersect(set, o)
	}
	admission := intersect([]string{"CREATE", "UPDATE"}, set)
	switch {
	case len(admission) == 0 && slices.Contains(set, "BACKGROUND"):
		return nil, false, "its conditions hold only outside admission (background scans), which baseguard cannot tell from CI"
	case len(admission) == 0:
		return nil, true, ""
	case !slices.Contains(set, "BACKGROUND"):
		t.note("its conditions exclude Kyverno's background scans; baseguard's check and audit, where there is no admission operation, apply the rule")
	}
	if len(admission) == 2 {
		return nil, false, ""
	}
	return admission, false, ""
}

func intersect(a, b []string) []string {
	var out []string
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// combinePreds joins the image conditions of a block. Over the resource's
// images (a list) Kyverno's conditions are about some image, so only
// alternatives (any) join exactly; over one element (foreach), all of
// several negated conditions is one negation of their union.
func combinePreds(anyP, allP []imagePred, ctx *condContext) (preds []imagePred, never bool, why string) {
	switch {
	case len(anyP) > 0 && len(allP) > 0:
		return nil, false, "its conditions join image conditions under both any and all"
	case len(allP) > 1 && ctx.element && !ctx.pre && allNegatedAlike(allP):
		joined := imagePred{negated: true, exact: true, base: allP[0].base, requireBase: allP[0].base}
		for _, p := range allP {
			joined.pats = addPatterns(joined.pats, p.pats)
			joined.exact = joined.exact && p.exact
		}
		return []imagePred{joined}, false, ""
	case len(allP) > 1:
		return nil, false, "its conditions require several image conditions at once (all), which baseguard cannot express"
	case len(allP) == 1:
		if allP[0].never {
			return nil, true, ""
		}
		return allP, false, ""
	}
	for _, p := range anyP {
		if !p.never {
			preds = append(preds, p)
		}
	}
	if len(anyP) > 0 && len(preds) == 0 {
		return nil, true, ""
	}
	return preds, false, ""
}

func allNegatedAlike(ps []imagePred) bool {
	for _, p := range ps {
		if !p.negated || p.base != ps[0].base || p.never {
			return false
		}
	}
	return true
}

// condition translates one condition.
func (t *translator) condition(c obj, ctx *condContext) condResult {
	k := parseKey(c["key"], ctx)
	op := strings.ToLower(str(c["operator"]))
	switch k.kind {
	case keyOperation:
		ops, why := t.operationCondition(k, op, c["value"])
		return condResult{ops: ops, isOps: true, why: why}
	case keyImages, keyElementImage:
		t.noteKey(k, op)
		p, why := t.imageCondition(k, op, c["value"])
		return condResult{pred: p, why: why}
	case keyBase:
		p, why := t.baseCondition(op, c["value"])
		return condResult{pred: p, why: why}
	case keyLabel, keyNamespace:
		f, why := t.resourceCondition(k, op, c["value"])
		if f == nil && why == "" { // holds for every resource
			return condResult{ops: []string{"CREATE", "UPDATE", "BACKGROUND"}, isOps: true}
		}
		return condResult{filter: f, why: why}
	}
	return condResult{why: fmt.Sprintf("a condition on %s is not about the images baseguard judges", keyText(c["key"]))}
}

func keyText(key any) string {
	s := strings.TrimSpace(strings.Trim(str(key), "{} "))
	if s == "" {
		return "an empty key"
	}
	return s
}

func (t *translator) noteKey(k condKey, op string) {
	if k.template {
		t.note("a condition reads %s, which Pods lack (Kyverno never applies it to Pods); baseguard reads the pod spec wherever the kind keeps it", k.expr)
	}
	if len(k.lists) > 0 && len(k.lists) < 3 {
		t.note("a condition reads only %s; baseguard checks every container list", strings.Join(k.lists, ", "))
	}
	if k.comp == "name" || k.comp == "path" {
		t.note("%s holds the image name without registry or tag in Kyverno, so tag patterns like *ubuntu:18.04* never matched there; baseguard matches the whole reference, tag included", k.expr)
	}
	if op == "contains" {
		t.note("Contains is not a Kyverno operator; baseguard reads it as \"some image contains\"")
	}
}

// kyvernoOps names the operators: of the key's values, some (any) or
// each (all) is (in) or is not (notin) among the condition's values.
var (
	positiveOps = []string{"equal", "equals", "anyin", "allin", "in", "contains"}
	negativeOps = []string{"notequal", "notequals", "anynotin", "allnotin", "notin"}
	// listOps are exact over a list of images: some image is, or is not,
	// among the values.
	listOps = []string{"anyin", "anynotin", "contains"}
)

// imageCondition translates a condition on images.
func (t *translator) imageCondition(k condKey, op string, value any) (*imagePred, string) {
	negated := slices.Contains(negativeOps, op)
	if !negated && !slices.Contains(positiveOps, op) {
		return nil, fmt.Sprintf("operator %s on images is not translated", op)
	}
	if k.kind == keyImages && !slices.Contains(listOps, op) {
		return nil, fmt.Sprintf("%s over the list of images is a condition on the whole list, which baseguard cannot express per image", op)
	}
	vals, literal, why := t.conditionValues(value, op, k.kind == keyElementImage)
	if why != "" {
		return nil, why
	}
	if op == "contains" {
		for i, v := range vals {
			vals[i] = "*" + v + "*"
		}
	}
	pats, exact, err := t.componentPatterns(k.comp, vals, literal)
	if err != nil {
		return nil, err.Error()
	}
	return predicate(pats, negated, exact)
}

func predicate(pats []Pattern, negated, exact bool) (*imagePred, string) {
	p := &imagePred{pats: pats, negated: negated, exact: exact}
	switch {
	case len(pats) == 0 && negated:
		// No image is among values none can match: the condition holds
		// for every image.
		p.pats, p.negated = MustPatterns("*"), false
	case len(pats) == 0:
		p.never = true
	}
	return p, ""
}

// baseCondition translates a condition on the element image's declared
// base (org.opencontainers.image.base.name).
func (t *translator) baseCondition(op string, value any) (*imagePred, string) {
	vals, literal, why := t.conditionValues(value, op, true)
	if why != "" {
		return nil, why
	}
	negated := slices.Contains(negativeOps, op)
	switch {
	case op == "contains" || (!negated && !slices.Contains(positiveOps, op)):
		return nil, fmt.Sprintf("operator %s on the declared base is not translated", op)
	case len(vals) == 1 && vals[0] == "" && !negated:
		t.note("the rule requires a known base; baseguard finds it in annotations, provenance, buildinfo, buildpacks metadata or layers, not only in the manifest annotation Kyverno reads")
		return &imagePred{base: true, requireBase: true, exact: true}, ""
	case slices.Contains(vals, ""):
		return nil, "a condition on the declared base compares with the empty string in a way baseguard does not translate"
	}
	pats, exact, err := t.componentPatterns("written", vals, literal)
	if err != nil {
		return nil, err.Error()
	}
	p, why := predicate(pats, negated, exact)
	if p != nil {
		p.base, p.requireBase = true, negated
		if negated {
			t.note("the allow list applies to the image's direct base, as resolved (annotations, provenance, buildinfo, buildpacks metadata or layers) and verified by layers; offline it cannot be known and the rule is skipped (run with --resolve)")
		}
	}
	return p, why
}
