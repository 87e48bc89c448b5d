package audit

import (
	"cmp"
	"slices"
	"time"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
)

// Inventory is what runs, how compliant, on which bases: the `inventory`
// object of `audit -o json`.
type Inventory struct {
	// Containers counts the containers (every list) of the pods that run;
	// Compliant those none of whose image's results is fail or error.
	Containers int     `json:"containers"`
	Compliant  int     `json:"compliant"`
	Compliance float64 `json:"compliance"`
	// Workloads counts the workloads; CompliantWorkloads those none of
	// whose results is fail or error.
	Workloads          int `json:"workloads"`
	CompliantWorkloads int `json:"compliantWorkloads"`
	// UnknownBase counts the containers whose base is not known (images
	// without a known base, and images that could not be resolved):
	// Bases and UnknownBase add up to Containers.
	UnknownBase int             `json:"unknownBase"`
	Namespaces  []NamespaceStat `json:"namespaces"`
	Bases       []BaseStat      `json:"bases"`
	Exceptions  []ExceptionUse  `json:"exceptions"`
}

// NamespaceStat is the compliance of one namespace.
type NamespaceStat struct {
	Name       string  `json:"name"`
	Containers int     `json:"containers"`
	Compliant  int     `json:"compliant"`
	Compliance float64 `json:"compliance"`
	// Workloads and CompliantWorkloads count its workloads.
	Workloads          int `json:"-"`
	CompliantWorkloads int `json:"-"`
}

// BaseStat is one direct base (lineage[1]) and the containers built on it.
type BaseStat struct {
	// Ref is the canonical reference with its tag; Digest what it was.
	Ref        string   `json:"ref"`
	Digest     string   `json:"digest"`
	Containers int      `json:"containers"`
	Workloads  int      `json:"workloads"`
	Namespaces []string `json:"namespaces"`
	// Current says whether the tag still points at Digest; nil when not
	// known.
	Current *bool      `json:"current"`
	Created *time.Time `json:"created"`
	// DeniedBy names the deny rules (`policy/rule`) that match this base
	// and failed (or were excepted) for a container running on it.
	DeniedBy []string `json:"-"`
	// Latest is the digest the tag points at now, when not Digest.
	Latest string `json:"-"`
	// Where lists the workloads running on it (`Kind/namespace/name`),
	// Images the images built on it.
	Where, Images []string `json:"-"`
}

// Age is how old the base was at t, zero when not known.
func (b BaseStat) Age(t time.Time) time.Duration {
	if b.Created == nil {
		return 0
	}
	return t.Sub(*b.Created)
}

// Stale reports a base whose tag has moved on: rebuild on it.
func (b BaseStat) Stale() bool { return b.Current != nil && !*b.Current }

// ExceptionUse is one exception of the policies and the results it
// covers (excepted, or failing again since it expired).
type ExceptionUse struct {
	Policy  string  `json:"policy"`
	Name    string  `json:"name"`
	Expires *string `json:"expires"`
	Expired bool    `json:"expired"`
	Uses    int     `json:"uses"`
	// ExpiresAt is Expires as a time; zero without one.
	ExpiresAt time.Time `json:"-"`
}

// failing reports whether a result counts against compliance.
func failing(r *policy.Result) bool {
	return r.Status == policy.StatusFail || r.Status == policy.StatusError
}

// compliant reports whether none of an item's results fails.
func (it *Item) compliant() bool {
	for i := range it.Results {
		if failing(&it.Results[i]) {
			return false
		}
	}
	return true
}

// base is the item's direct base, when known.
func (it *Item) base() (lineage.Entry, bool) {
	bases := it.Lineage.Bases()
	if len(bases) == 0 {
		return lineage.Entry{}, false
	}
	return bases[0], true
}

// Inventory derives the numbers from the audit.
func (a *Audit) Inventory() Inventory {
	inv := Inventory{Namespaces: []NamespaceStat{}, Bases: []BaseStat{}, Exceptions: a.exceptions()}
	namespaces := map[string]*NamespaceStat{}
	bases := map[[2]string]*baseAcc{}
	for _, w := range a.Workloads {
		ns := namespaces[w.Resource.Namespace]
		if ns == nil {
			ns = &NamespaceStat{Name: w.Resource.Namespace}
			namespaces[ns.Name] = ns
		}
		ok := true
		for _, it := range w.Items {
			good := it.compliant()
			ok = ok && good
			inv.Containers += it.Containers
			ns.Containers += it.Containers
			if good {
				inv.Compliant += it.Containers
				ns.Compliant += it.Containers
			}
			if it.Containers == 0 {
				continue
			}
			b, known := it.base()
			if !known {
				inv.UnknownBase += it.Containers
				continue
			}
			acc := bases[baseKey(b)]
			if acc == nil {
				acc = newBaseAcc(b)
				bases[baseKey(b)] = acc
			}
			acc.add(w, it, b)
		}
		inv.Workloads++
		ns.Workloads++
		if ok {
			inv.CompliantWorkloads++
			ns.CompliantWorkloads++
		}
	}
	inv.Compliance = ratio(inv.Compliant, inv.Containers)
	for _, ns := range namespaces {
		ns.Compliance = ratio(ns.Compliant, ns.Containers)
		inv.Namespaces = append(inv.Namespaces, *ns)
	}
	slices.SortFunc(inv.Namespaces, func(x, y NamespaceStat) int { return cmp.Compare(x.Name, y.Name) })
	for _, acc := range bases {
		inv.Bases = append(inv.Bases, acc.stat())
	}
	slices.SortFunc(inv.Bases, func(x, y BaseStat) int {
		return cmp.Or(cmp.Compare(y.Containers, x.Containers), cmp.Compare(x.Ref, y.Ref), cmp.Compare(x.Digest, y.Digest))
	})
	return inv
}

// ratio is part/whole rounded to four places, 1 when whole is 0.
func ratio(part, whole int) float64 {
	if whole == 0 {
		return 1
	}
	return float64(int(float64(part)/float64(whole)*10000+0.5)) / 10000
}

// baseRef is a base's canonical reference with its tag, without digest.
func baseRef(e lineage.Entry) string {
	if e.Ref.Tag != "" && !(e.Ref.TagImplied && e.Ref.Digest != "") {
		return e.Ref.Name() + ":" + e.Ref.Tag
	}
	return e.Ref.Name()
}

func baseDigest(e lineage.Entry) string {
	if e.Digest != "" {
		return e.Digest
	}
	return e.Ref.Digest
}

func baseKey(e lineage.Entry) [2]string { return [2]string{baseRef(e), baseDigest(e)} }

// baseAcc accumulates one base's containers.
type baseAcc struct {
	stat0      BaseStat
	workloads  map[*Workload]bool
	namespaces map[string]bool
	deniedBy   map[string]bool
}

func newBaseAcc(e lineage.Entry) *baseAcc {
	s := BaseStat{Ref: baseRef(e), Digest: baseDigest(e), Current: e.Current, Namespaces: []string{}}
	if !e.Created.IsZero() {
		t := e.Created.UTC()
		s.Created = &t
	}
	if s.Stale() {
		s.Latest = e.LatestDigest
	}
	return &baseAcc{stat0: s, workloads: map[*Workload]bool{}, namespaces: map[string]bool{}, deniedBy: map[string]bool{}}
}

func (acc *baseAcc) add(w *Workload, it *Item, b lineage.Entry) {
	acc.stat0.Containers += it.Containers
	if !acc.workloads[w] {
		acc.workloads[w] = true
		acc.stat0.Where = append(acc.stat0.Where, w.Resource.ID())
	}
	acc.namespaces[w.Resource.Namespace] = true
	if !slices.Contains(acc.stat0.Images, it.Subject.Image) {
		acc.stat0.Images = append(acc.stat0.Images, it.Subject.Image)
	}
	for i := range it.Results {
		r := &it.Results[i]
		if deniedResult(r) && deniesEntry(r.Rule, b) {
			acc.deniedBy[r.Policy.Metadata.Name+"/"+r.Rule.Name] = true
		}
	}
}

func (acc *baseAcc) stat() BaseStat {
	s := acc.stat0
	s.Workloads = len(acc.workloads)
	for ns := range acc.namespaces {
		s.Namespaces = append(s.Namespaces, ns)
	}
	slices.Sort(s.Namespaces)
	for d := range acc.deniedBy {
		s.DeniedBy = append(s.DeniedBy, d)
	}
	slices.Sort(s.DeniedBy)
	slices.Sort(s.Where)
	slices.Sort(s.Images)
	return s
}

// deniedResult is a deny rule's failure, or one an exception holds back.
func deniedResult(r *policy.Result) bool {
	return r.Status == policy.StatusFail || r.Status == policy.StatusWarn || (r.Status == policy.StatusSkip && r.Exception != "")
}

func deniesEntry(rule *policy.Rule, e lineage.Entry) bool {
	for _, p := range rule.Deny {
		if p.Match(e.Ref) || (e.AsWritten != nil && p.Match(*e.AsWritten)) {
			return true
		}
	}
	return false
}

// exceptions lists every exception of the policies with its uses.
func (a *Audit) exceptions() []ExceptionUse {
	uses := map[[2]string]int{}
	for _, w := range a.Workloads {
		for _, it := range w.Items {
			for i := range it.Results {
				if r := &it.Results[i]; r.Exception != "" {
					uses[[2]string{r.Policy.Metadata.Name, r.Exception}]++
				}
			}
		}
	}
	out := []ExceptionUse{}
	if a.Policies == nil {
		return out
	}
	for _, p := range a.Policies.Policies() {
		for _, ex := range p.Spec.Exceptions {
			u := ExceptionUse{Policy: p.Metadata.Name, Name: ex.Name, Uses: uses[[2]string{p.Metadata.Name, ex.Name}]}
			if ex.Expires != nil {
				s := ex.Expires.String()
				u.Expires, u.ExpiresAt, u.Expired = &s, ex.Expires.Time, !a.Time.Before(ex.Expires.Time)
			}
			out = append(out, u)
		}
	}
	return out
}
