package audit

import (
	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
)

// WithBase returns the audit of the workloads whose lineage (any item's,
// at any depth, the image itself included) has an entry matching p, as
// written or canonical, its tag as written counted too: who runs on this
// base?
func (a *Audit) WithBase(p imageref.Pattern) *Audit {
	out := *a
	out.Workloads = nil
	for _, w := range a.Workloads {
		if runsOn(w, p) {
			out.Workloads = append(out.Workloads, w)
		}
	}
	return &out
}

func runsOn(w *Workload, p imageref.Pattern) bool {
	for _, it := range w.Items {
		for _, e := range it.Lineage.Entries {
			if matchEntry(p, e) {
				return true
			}
		}
	}
	return false
}

func matchEntry(p imageref.Pattern, e lineage.Entry) bool {
	return p.Match(e.Ref) || (e.AsWritten != nil && p.Match(*e.AsWritten))
}
