package policy

import (
	"fmt"
	"time"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/subject"
)

// checkSubject applies the rule to a subject's lineage. An image a
// Dockerfile's build pulls in besides its base (a build input) is judged by
// the rule's deny patterns only: it must not feed the build if denied, but
// allow lists, when and the base requirements speak of what an image is
// built on, which a build input is not.
func (cr *compiledRule) checkSubject(sub *subject.Subject, l lineage.Lineage, now time.Time) verdict {
	if sub.BuildInput == "" || cr.r.Untranslated != "" {
		return cr.check(l, now)
	}
	why := fmt.Sprintf("%s feeds the build (%s) but is not the shipped base: only deny rules judge it", sub.Image, sub.BuildInput)
	if len(cr.r.Deny) == 0 {
		return verdict{notApplicable, why}
	}
	denyOnly := compiledRule{r: &Rule{Name: cr.r.Name, Deny: cr.r.Deny}, match: cr.match, actions: cr.actions}
	v := denyOnly.check(l, now)
	if v.outcome == passed {
		v.why = why
	}
	return v
}
