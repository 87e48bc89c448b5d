package policy

import (
	"regexp"
	"slices"
	"sort"
	"strings"
)

// kyvernoVersion tells a version from a group in a Kyverno kind selector.
var kyvernoVersion = regexp.MustCompile(`^(v\d+((alpha|beta)\d+)?|\*)$`)

// parseKyvernoKind splits a Kyverno kind selector (`Pod`, `v1/Pod`,
// `apps/v1/Deployment`, `Pod/ephemeralcontainers`, `*/*`) into group,
// version, kind and subresource, `*` meaning any, as Kyverno reads them.
func parseKyvernoKind(s string) (group, version, kind, sub string) {
	parts := strings.Split(s, "/")
	last := parts[len(parts)-1]
	parts = append(parts[:len(parts)-1], strings.Split(last, ".")...)
	switch len(parts) {
	case 1:
		return "*", "*", parts[0], ""
	case 2:
		switch {
		case parts[0] == "*" && parts[1] == "*":
			return "*", "*", "*", "*"
		case parts[0] == "*" && strings.ToLower(parts[1]) == parts[1]:
			return "*", "*", parts[0], parts[1]
		case kyvernoVersion.MatchString(parts[0]):
			return "*", parts[0], parts[1], ""
		}
		return "*", "*", parts[0], parts[1]
	case 3:
		if kyvernoVersion.MatchString(parts[0]) {
			return "*", parts[0], parts[1], parts[2]
		}
		return parts[0], parts[1], parts[2], ""
	case 4:
		return parts[0], parts[1], parts[2], parts[3]
	}
	return "", "", "", ""
}

// expandKind lists the pod-bearing kinds a Kyverno kind (wildcards
// allowed) names.
func (t *translator) expandKind(kind string) []string {
	var out []string
	for k := range t.known {
		if k != "Dockerfile" && wildcardMatch(kind, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// explicitKinds are the pod-bearing kinds a Kyverno match names other than
// through Pod: Kyverno judges those directly, so an exclude of Pod does
// not take them out.
func (t *translator) explicitKinds(m obj) map[string]bool {
	out := map[string]bool{}
	blocks := append(asList(m["any"]), asList(m["all"])...)
	if len(blocks) == 0 {
		blocks = []any{m}
	}
	for _, b := range blocks {
		kinds := strList(asObj(asObj(b)["resources"])["kinds"])
		if len(kinds) == 0 {
			kinds = []string{"*"} // a filter without kinds selects every kind
		}
		for _, s := range kinds {
			_, _, kind, _ := parseKyvernoKind(s)
			if kind == "Pod" {
				continue
			}
			for _, k := range t.expandKind(kind) {
				out[k] = true
			}
		}
	}
	return out
}

// kindSelectors translates a filter's kinds. In a match, Pod stands for
// every kind baseguard judges (the Pods any of them makes are judged in
// Kyverno); in an exclude, Pod also takes out the kinds the rule reaches
// only through Pod, as Kyverno's auto-generated rules do. never reports a
// list naming no kind baseguard judges.
func (t *translator) kindSelectors(kinds []string, what string, exclude bool) (out []string, never bool) {
	seen := map[string]bool{}
	add := func(k kindSelector) {
		if s := k.String(); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	var unjudged []string
	everything := false
	for _, s := range kinds {
		group, version, kind, sub := parseKyvernoKind(s)
		if sub != "" && sub != "*" {
			if exclude || sub != "ephemeralcontainers" || !wildcardMatch(kind, "Pod") {
				unjudged = append(unjudged, s)
				continue
			}
			t.note("%s names %s: baseguard judges ephemeral containers with the Pod they are added to", what, s)
			kind = "Pod"
		}
		var matched []string
		for _, k := range t.expandKind(kind) {
			if slices.ContainsFunc(t.known[k], func(g string) bool { return wildcardMatch(group, g) }) {
				matched = append(matched, k)
			}
		}
		if len(matched) == 0 {
			unjudged = append(unjudged, s)
		}
		for _, k := range matched {
			isPod := k == "Pod" && wildcardMatch(group, "") && wildcardMatch(version, "v1")
			switch {
			case isPod && !exclude:
				everything = true
			case isPod:
				add(kindSelector{"*", "*", "Pod"})
				t.excludePod(what, add)
			default:
				add(kindSelector{group, version, k})
			}
		}
	}
	if len(unjudged) > 0 {
		t.note("%s names %s, which baseguard does not judge (no pod template it knows)", what, strings.Join(unjudged, ", "))
	}
	if everything {
		t.notePodEverything(what)
		return nil, false
	}
	return out, len(out) == 0
}

// excludePod adds the kinds an exclude of Pod takes out with it.
func (t *translator) excludePod(what string, add func(kindSelector)) {
	var also []string
	for _, k := range t.expandKind("*") {
		if k != "Pod" && !t.matchKinds[k] {
			also = append(also, t.kindNames(k)...)
			add(kindSelector{"*", "*", k})
		}
	}
	if len(also) > 0 {
		t.note("%s names Pod: it also excludes %s, which the rule reaches only through Pod (as Kyverno's auto-generated rules do)", what, strings.Join(also, ", "))
	}
}

func (t *translator) notePodEverything(what string) {
	var missing []string
	for _, k := range t.expandKind("*") {
		if k != "Pod" && !t.matchKinds[k] {
			missing = append(missing, t.kindNames(k)...)
		}
	}
	if len(missing) > 0 {
		t.note("%s names Pod: baseguard applies the rule to every pod-bearing kind (also %s, as Kyverno's auto-generated rules and the Pods they create would) and to Dockerfiles", what, strings.Join(missing, ", "))
	}
}

// kindNames names a kind for people: with its group when it is a workload
// CRD's (`Service.serving.knative.dev`), so it is not taken for another.
func (t *translator) kindNames(kind string) []string {
	var out []string
	for _, g := range t.known[kind] {
		switch g {
		case "", "apps", "batch", "extensions":
			if !slices.Contains(out, kind) {
				out = append(out, kind)
			}
		default:
			out = append(out, kind+"."+g)
		}
	}
	return out
}
