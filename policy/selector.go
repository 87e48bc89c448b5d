package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/baseguard/baseguard/subject"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// selector is a compiled LabelSelector. matchLabels entries whose key or
// value holds a wildcard (`*`, `?`, as Kyverno allows) hold when some
// label matches both; the rest is a Kubernetes selector.
type selector struct {
	plain labels.Selector
	wild  [][2]string
}

var selectorOps = map[string]selection.Operator{
	"In": selection.In, "NotIn": selection.NotIn,
	"Exists": selection.Exists, "DoesNotExist": selection.DoesNotExist,
}

func compileSelector(s *LabelSelector) (*selector, error) {
	if s == nil {
		return nil, nil
	}
	out := &selector{plain: labels.NewSelector()}
	keys := make([]string, 0, len(s.MatchLabels))
	for k := range s.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := s.MatchLabels[k]
		if strings.ContainsAny(k+v, "*?") {
			out.wild = append(out.wild, [2]string{k, v})
			continue
		}
		r, err := labels.NewRequirement(k, selection.Equals, []string{v})
		if err != nil {
			return nil, err
		}
		out.plain = out.plain.Add(*r)
	}
	for _, e := range s.MatchExpressions {
		op, ok := selectorOps[e.Operator]
		if !ok {
			return nil, fmt.Errorf("selector operator %q: want In, NotIn, Exists or DoesNotExist", e.Operator)
		}
		r, err := labels.NewRequirement(e.Key, op, e.Values)
		if err != nil {
			return nil, err
		}
		out.plain = out.plain.Add(*r)
	}
	return out, nil
}

func (s *selector) matches(l map[string]string) bool {
	if !s.plain.Matches(labels.Set(l)) {
		return false
	}
	for _, kv := range s.wild {
		found := false
		for k, v := range l {
			if wildcardMatch(kv[0], k) && wildcardMatch(kv[1], v) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// compiledRequester is a Requester ready to evaluate.
type compiledRequester struct {
	r *Requester
	// who are username patterns: users, and service accounts as
	// `system:serviceaccount:NAMESPACE:NAME`.
	who []string
}

// serviceAccountPrefix begins every service account's username.
const serviceAccountPrefix = "system:serviceaccount:"

func compileRequester(r *Requester) (*compiledRequester, error) {
	if r == nil {
		return nil, nil
	}
	if len(r.Users)+len(r.Groups)+len(r.ServiceAccounts)+len(r.Roles)+len(r.ClusterRoles) == 0 {
		return nil, fmt.Errorf("requester names no user, group, service account or role")
	}
	c := &compiledRequester{r: r, who: append([]string(nil), r.Users...)}
	for _, sa := range r.ServiceAccounts {
		if ns, name, ok := strings.Cut(sa, ":"); !ok || ns == "" || name == "" || strings.Contains(name, ":") {
			return nil, fmt.Errorf("service account %q: want NAMESPACE:NAME", sa)
		}
		c.who = append(c.who, serviceAccountPrefix+sa)
	}
	for _, role := range r.Roles {
		if ns, name, ok := strings.Cut(role, ":"); !ok || ns == "" || name == "" || strings.Contains(name, ":") {
			return nil, fmt.Errorf("role %q: want NAMESPACE:NAME", role)
		}
	}
	return c, nil
}

// eval decides the requester criteria for the request's user (nil when
// unknown).
func (c *compiledRequester) eval(u *subject.User, positive bool) decision {
	if u == nil {
		return assume(positive, assumedRequester)
	}
	if (len(c.who) > 0 || len(c.r.Groups) > 0) && !c.names(u) {
		return decidedNo
	}
	if len(c.r.Roles) == 0 && len(c.r.ClusterRoles) == 0 {
		return decidedYes
	}
	if !u.RolesKnown {
		return assume(positive, assumedRoles)
	}
	if len(c.r.Roles) > 0 && !shares(c.r.Roles, u.Roles) {
		return decidedNo
	}
	if len(c.r.ClusterRoles) > 0 && !shares(c.r.ClusterRoles, u.ClusterRoles) {
		return decidedNo
	}
	return decidedYes
}

// names reports whether the user is one of the users or service accounts,
// or in one of the groups.
func (c *compiledRequester) names(u *subject.User) bool {
	for _, p := range c.who {
		if wildcardMatch(p, u.Name) {
			return true
		}
	}
	for _, p := range c.r.Groups {
		for _, g := range u.Groups {
			if wildcardMatch(p, g) {
				return true
			}
		}
	}
	return false
}

// shares reports whether the lists have a name in common (roles are
// compared whole, as Kyverno compares them).
func shares(want, have []string) bool {
	for _, w := range want {
		for _, h := range have {
			if w == h {
				return true
			}
		}
	}
	return false
}
