package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/baseguard/baseguard/subject"
)

// knownKinds maps each kind baseguard judges to its API groups.
type knownKinds map[string][]string

// judgedKinds are the kinds a match may name: the workloads of
// subject.Workloads, those a policy declares, and Dockerfile.
func judgedKinds(declared []subject.Workload) knownKinds {
	out := knownKinds{subject.KindDockerfile: {""}}
	for _, table := range [][]subject.Workload{subject.Workloads, declared} {
		for _, w := range table {
			if !slices.Contains(out[w.Kind], w.Group) {
				out[w.Kind] = append(out[w.Kind], w.Group)
			}
		}
	}
	return out
}

// kindSelector is one entry of Filter.Kinds: a kind with the API group and
// version it must have (`*` for any; group "" is the core group).
type kindSelector struct {
	group, version, kind string
}

// parseKind reads `Kind`, `VERSION/Kind` (the core group) or
// `GROUP/VERSION/Kind`, and checks the kind is one baseguard judges.
func parseKind(s string, known knownKinds) (kindSelector, error) {
	parts := strings.Split(s, "/")
	var k kindSelector
	switch len(parts) {
	case 1:
		k = kindSelector{"*", "*", parts[0]}
	case 2:
		k = kindSelector{"", parts[0], parts[1]}
	case 3:
		k = kindSelector{parts[0], parts[1], parts[2]}
	default:
		return k, fmt.Errorf("kind %q: want Kind, VERSION/Kind or GROUP/VERSION/Kind", s)
	}
	if k.version == "" || k.kind == "" || (len(parts) == 3 && k.group == "") {
		return k, fmt.Errorf("kind %q: want Kind, VERSION/Kind or GROUP/VERSION/Kind", s)
	}
	groups, ok := known[k.kind]
	if !ok {
		return k, unknownKind(k.kind, known)
	}
	if !slices.ContainsFunc(groups, func(g string) bool { return wildcardMatch(k.group, g) }) {
		return k, fmt.Errorf("kind %q: baseguard judges %s in API group %s, not %q", s, k.kind, groupList(groups), k.group)
	}
	return k, nil
}

func groupList(groups []string) string {
	out := make([]string, len(groups))
	for i, g := range groups {
		out[i] = fmt.Sprintf("%q", g)
	}
	return strings.Join(out, " or ")
}

func unknownKind(kind string, known knownKinds) error {
	names := make([]string, 0, len(known))
	hint := ""
	for k := range known {
		names = append(names, k)
		if strings.EqualFold(k, kind) || strings.EqualFold(k+"s", kind) {
			hint = fmt.Sprintf(" (did you mean %s?)", k)
		}
	}
	sort.Strings(names)
	return fmt.Errorf("unknown kind %q%s: baseguard judges %s", kind, hint, strings.Join(names, ", "))
}

// String writes the selector back in the form parseKind reads.
func (k kindSelector) String() string {
	switch {
	case k.group == "*" && k.version == "*":
		return k.kind
	case k.group == "":
		return k.version + "/" + k.kind
	}
	return k.group + "/" + k.version + "/" + k.kind
}

// matches reports whether a resource of the kind and apiVersion is
// selected; known is false when the decision needed an apiVersion the
// resource does not give.
func (k kindSelector) matches(kind, apiVersion string) (ok, known bool) {
	if kind == subject.KindDockerfile && k.kind == "Pod" {
		kind, apiVersion = "Pod", "v1"
	}
	if k.kind != kind {
		return false, true
	}
	if k.group == "*" && k.version == "*" {
		return true, true
	}
	if apiVersion == "" {
		return false, false
	}
	group, version, found := strings.Cut(apiVersion, "/")
	if !found {
		group, version = "", apiVersion
	}
	return wildcardMatch(k.group, group) && wildcardMatch(k.version, version), true
}

// wildcardMatch reports whether s matches p, in which `*` matches any run
// of characters and `?` exactly one (Kyverno's wildcards).
func wildcardMatch(p, s string) bool {
	switch {
	case p == "*":
		return true
	case !strings.ContainsAny(p, "*?"):
		return p == s
	}
	return runeMatch([]rune(p), []rune(s))
}

// runeMatch is wildcardMatch on runes: greedy with backtracking to the
// last star, O(len(p)·len(s)) at worst.
func runeMatch(p, s []rune) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
