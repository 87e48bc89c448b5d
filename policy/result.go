package policy

import (
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/subject"
)

// Status is the outcome of one rule for one subject, in the vocabulary of
// the Kubernetes PolicyReport API.
type Status string

// The statuses.
const (
	StatusPass  Status = "pass"
	StatusFail  Status = "fail"
	StatusWarn  Status = "warn"
	StatusError Status = "error"
	StatusSkip  Status = "skip"
)

// Statuses are all statuses, in the order summaries list them.
var Statuses = []Status{StatusPass, StatusFail, StatusWarn, StatusError, StatusSkip}

// Result is the outcome of one rule of one policy for one subject.
type Result struct {
	Policy *Policy
	Rule   *Rule
	Status Status
	Action Action
	// Message says everything on its own: the rule's message, the
	// subject, why, and what to use instead.
	Message string
	// Reason is why, alone; UseInstead what the policy allows, when the
	// rule that failed does not list it itself.
	Reason, UseInstead string
	Subject            *subject.Subject
	Lineage            lineage.Lineage
	// Exception names the exception that turned a failure into a skip, or
	// the expired exception that no longer does.
	Exception string
}

// Blocking reports whether the result fails an enforced rule: what makes
// `check` exit 1 and admission deny.
func (r *Result) Blocking() bool { return r.Status == StatusFail && r.Action == Enforce }

// Summary counts results by status.
type Summary map[Status]int

// Summarize counts results by status.
func Summarize(results []Result) Summary {
	s := Summary{}
	for _, st := range Statuses {
		s[st] = 0
	}
	for i := range results {
		s[results[i].Status]++
	}
	return s
}
