package rebase

import (
	"errors"
	"strings"
)

// Refusal is a rebase that must not be done: a forged or wrong base
// declaration, a base the policies do not allow, a platform mismatch. Nothing
// was written.
type Refusal struct {
	// Reasons say why, one fact each.
	Reasons []string
	// Forcible reports that --force would override every reason.
	Forcible bool
}

func (r *Refusal) Error() string {
	s := "refused: " + strings.Join(r.Reasons, "; ")
	if r.Forcible {
		s += " (--force overrides)"
	}
	return s
}

// IsRefusal reports whether err is a *Refusal.
func IsRefusal(err error) bool {
	var r *Refusal
	return errors.As(err, &r)
}

// refusals collects reasons, keeping whether all of them may be forced.
type refusals struct {
	reasons  []string
	forcible bool
	any      bool
}

func (rs *refusals) add(forcible bool, reason string) {
	if !rs.any {
		rs.forcible = true
	}
	rs.any = true
	rs.forcible = rs.forcible && forcible
	rs.reasons = append(rs.reasons, reason)
}

func (rs *refusals) err() error {
	if !rs.any {
		return nil
	}
	return &Refusal{Reasons: rs.reasons, Forcible: rs.forcible}
}
