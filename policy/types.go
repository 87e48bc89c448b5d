package policy

import (
	"fmt"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"go.yaml.in/yaml/v3"
)

// APIVersion and Kind identify a native policy document.
const (
	APIVersion = "baseguard.dev/v1alpha1"
	Kind       = "BaseImagePolicy"
)

// Action is what a failing rule does.
type Action string

// The actions. Enforce fails the check (and denies at admission); audit
// records the failure; warn reports it as a warning.
const (
	Enforce Action = "enforce"
	Audit   Action = "audit"
	Warn    Action = "warn"
)

// DefaultAction is the action of a policy that names none: fail closed.
const DefaultAction = Enforce

func (a Action) valid() bool { return a == "" || a == Enforce || a == Audit || a == Warn }

// Policy is one BaseImagePolicy.
type Policy struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   Metadata `yaml:"metadata"`
	Spec       Spec     `yaml:"spec"`

	// File and Line say where the policy was read from.
	File string `yaml:"-"`
	Line int    `yaml:"-"`
	// Notes record how an imported policy's meaning differs from its
	// literal evaluation by the engine it was written for.
	Notes []Note `yaml:"-"`
}

// Metadata names a policy.
type Metadata struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
}

// Spec is the body of a policy.
type Spec struct {
	Action Action `yaml:"action,omitempty"`
	// ActionOverrides set the action per namespace; the first that holds
	// wins over Action.
	ActionOverrides []ActionOverride `yaml:"actionOverrides,omitempty"`
	// OnResolveError is what happens when a lineage cannot be resolved in
	// time: deny, allow or warn. Empty means deny for enforce, warn otherwise.
	OnResolveError string `yaml:"onResolveError,omitempty"`
	Match          *Match `yaml:"match,omitempty"`
	// Catalog lists known base images, for recognising bases by layers.
	Catalog    []Pattern   `yaml:"catalog,omitempty"`
	Rules      []Rule      `yaml:"rules"`
	Exceptions []Exception `yaml:"exceptions,omitempty"`
	// Workloads declare kinds whose pod templates are judged besides the
	// built-in ones (subject.Workloads).
	Workloads []Workload `yaml:"workloads,omitempty"`
}

// Workload is a kind with a pod template: `{apiVersion: example.com/v1,
// kind: Runner, templatePath: spec.template}`.
type Workload struct {
	APIVersion   string `yaml:"apiVersion"`
	Kind         string `yaml:"kind"`
	TemplatePath string `yaml:"templatePath"`
}

// Match selects the resources a policy or rule applies to. It holds when
// every criterion it gives holds: its own filter fields, at least one of
// Any, each of All, and not Exclude.
type Match struct {
	Filter `yaml:",inline"`
	// Any are alternatives: one must hold.
	Any []Filter `yaml:"any,omitempty"`
	// All must each hold.
	All []Filter `yaml:"all,omitempty"`
	// Exclude takes the resources it selects out (it holds no Exclude of
	// its own).
	Exclude *Match `yaml:"exclude,omitempty"`
}

// Filter is one set of criteria on a resource and the request that brings
// it; every given criterion must hold.
type Filter struct {
	// Kinds are resource kinds (`Deployment`), optionally with their API
	// version (`apps/v1/Deployment`, `v1/Pod`); empty means every kind
	// baseguard judges. A Dockerfile is matched as a Pod.
	Kinds []string `yaml:"kinds,omitempty"`
	// Names are globs on the resource's name (generateName when it has
	// none).
	Names             []string         `yaml:"names,omitempty"`
	Namespaces        *NamespaceFilter `yaml:"namespaces,omitempty"`
	Selector          *LabelSelector   `yaml:"selector,omitempty"`
	NamespaceSelector *LabelSelector   `yaml:"namespaceSelector,omitempty"`
	// Operations are admission operations (CREATE, UPDATE). Where there
	// is none (check, audit) the criterion is taken to hold in a match and
	// not to hold in an exclude.
	Operations []string   `yaml:"operations,omitempty"`
	Requester  *Requester `yaml:"requester,omitempty"`
	// Line is where the filter was written, kindLines where each kind was.
	Line      int `yaml:"-"`
	kindLines []int
}

// Requester selects the user of an admission request. Users, Groups and
// ServiceAccounts together name who: one of them must match. Roles and
// ClusterRoles, when given, must each match too. Names are globs (`*`,
// `?`). Where the requester (or its roles) is unknown (check, audit) the
// criterion is taken to hold in a match and not to hold in an exclude: the
// rule applies.
type Requester struct {
	Users  []string `yaml:"users,omitempty"`
	Groups []string `yaml:"groups,omitempty"`
	// ServiceAccounts are `NAMESPACE:NAME`.
	ServiceAccounts []string `yaml:"serviceAccounts,omitempty"`
	// Roles are `NAMESPACE:NAME` of Roles bound to the user.
	Roles []string `yaml:"roles,omitempty"`
	// ClusterRoles are names of ClusterRoles bound to the user.
	ClusterRoles []string `yaml:"clusterRoles,omitempty"`
}

// ActionOverride sets the action of failing rules in some namespaces: those
// named (globs) and, when given, labelled as the selector says.
type ActionOverride struct {
	Action            Action         `yaml:"action"`
	Namespaces        []string       `yaml:"namespaces,omitempty"`
	NamespaceSelector *LabelSelector `yaml:"namespaceSelector,omitempty"`
	Line              int            `yaml:"-"`
}

// NamespaceFilter includes and excludes namespaces by name or glob.
type NamespaceFilter struct {
	Include []string `yaml:"include,omitempty"`
	Exclude []string `yaml:"exclude,omitempty"`
}

// LabelSelector is a Kubernetes label selector.
type LabelSelector struct {
	MatchLabels      map[string]string `yaml:"matchLabels,omitempty"`
	MatchExpressions []LabelExpression `yaml:"matchExpressions,omitempty"`
}

// LabelExpression is one requirement of a LabelSelector.
type LabelExpression struct {
	Key      string   `yaml:"key"`
	Operator string   `yaml:"operator"`
	Values   []string `yaml:"values,omitempty"`
}

// Rule is one check over a subject's lineage.
type Rule struct {
	Name   string `yaml:"name"`
	Action Action `yaml:"action,omitempty"`
	// ActionOverrides set the rule's action per namespace; the first that
	// holds wins over Action and the policy's.
	ActionOverrides []ActionOverride `yaml:"actionOverrides,omitempty"`
	Message         string           `yaml:"message,omitempty"`
	Match           *Match           `yaml:"match,omitempty"`

	// Scope says which lineage entries the rule looks at: every entry
	// (lineage, the default), the image itself (image), its direct base
	// (base) or every base (bases). For a Dockerfile the lineage starts
	// with the FROM image, the base of what is built.
	Scope Scope `yaml:"scope,omitempty"`
	// When restricts the rule to the entries in its scope that it
	// matches; with none, the rule passes.
	When []Pattern `yaml:"when,omitempty"`
	// Allow passes when some verified entry in scope matches.
	Allow []Pattern `yaml:"allow,omitempty"`
	// Deny fails when any entry in scope, claimed or verified, matches.
	Deny []Pattern `yaml:"deny,omitempty"`

	RequireBase         bool     `yaml:"requireBase,omitempty"`
	RequireVerifiedBase bool     `yaml:"requireVerifiedBase,omitempty"`
	RequireCurrentBase  bool     `yaml:"requireCurrentBase,omitempty"`
	MaxBaseAge          Duration `yaml:"maxBaseAge,omitempty"`

	// SignedBy requires each entry to be signed by one of its keys.
	SignedBy *Signers `yaml:"signedBy,omitempty"`
	// Vulnerabilities requires a fresh, clean enough scan of each entry,
	// attested by one of its keys.
	Vulnerabilities *VulnerabilityGate `yaml:"vulnerabilities,omitempty"`

	// Untranslated is set for an imported rule baseguard cannot express;
	// such a rule yields an error result wherever it applies.
	Untranslated string `yaml:"-"`
	Line         int    `yaml:"-"`
}

// Scope names the lineage entries a rule looks at.
type Scope string

// The scopes.
const (
	ScopeLineage Scope = "lineage" // every entry (the default)
	ScopeImage   Scope = "image"   // the image itself
	ScopeBase    Scope = "base"    // the direct base
	ScopeBases   Scope = "bases"   // every base
)

func (s Scope) valid() bool {
	return s == "" || s == ScopeLineage || s == ScopeImage || s == ScopeBase || s == ScopeBases
}

// Exception exempts subjects from rules until it expires. Every given
// scope must hold; an empty scope holds for everything.
type Exception struct {
	Name       string    `yaml:"name"`
	Namespaces []string  `yaml:"namespaces,omitempty"`
	Kinds      []string  `yaml:"kinds,omitempty"`
	Resources  []string  `yaml:"resources,omitempty"`
	Images     []Pattern `yaml:"images,omitempty"`
	Rules      []string  `yaml:"rules,omitempty"`
	Expires    *Date     `yaml:"expires,omitempty"`
	Reason     string    `yaml:"reason,omitempty"`
	Line       int       `yaml:"-"`
}

// Note is a remark about a policy: how baseguard reads it where that
// differs from the engine it was written for, or a risk in it.
type Note struct {
	Rule string
	Line int
	Text string
}

// Pattern is an image pattern with the line it was written on.
type Pattern struct {
	imageref.Pattern
	Line int
}

// UnmarshalYAML compiles the pattern and remembers its line.
func (p *Pattern) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a pattern must be a string", n.Line)
	}
	c, err := imageref.CompilePattern(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*p = Pattern{Pattern: c, Line: n.Line}
	return nil
}

// MarshalYAML writes the pattern as written.
func (p Pattern) MarshalYAML() (any, error) { return p.String(), nil }

// MustPatterns compiles patterns known to be valid; it panics on an
// invalid one.
func MustPatterns(ss ...string) []Pattern {
	ps := make([]Pattern, len(ss))
	for i, s := range ss {
		ps[i] = Pattern{Pattern: imageref.MustCompilePattern(s)}
	}
	return ps
}

// Date is an expiry: a day (the exception holds through that day, UTC) or
// an RFC 3339 time.
type Date struct {
	time.Time
	text string
}

// UnmarshalYAML parses a date.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a date must be a string", n.Line)
	}
	t, err := ParseDate(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = t
	return nil
}

// MarshalYAML writes the date as written.
func (d Date) MarshalYAML() (any, error) { return d.text, nil }

// String returns the date as written.
func (d Date) String() string { return d.text }

// ParseDate parses `2027-01-31` (good through the end of that day, UTC) or
// an RFC 3339 time.
func ParseDate(s string) (Date, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return Date{Time: t.AddDate(0, 0, 1), text: s}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return Date{Time: t, text: s}, nil
	}
	return Date{}, fmt.Errorf("bad date %q: want YYYY-MM-DD or RFC 3339", s)
}

// Duration is a length of time written as Go durations are, with days:
// `720h`, `90d`.
type Duration struct {
	time.Duration
	text string
}

// UnmarshalYAML parses a duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

// MarshalYAML writes the duration as written.
func (d Duration) MarshalYAML() (any, error) { return d.text, nil }

// IsZero lets `omitempty` drop an unset duration.
func (d Duration) IsZero() bool { return d.Duration == 0 }

// ParseDuration parses a Go duration or a whole number of days (`90d`).
func ParseDuration(s string) (Duration, error) {
	var days int
	if _, err := fmt.Sscanf(s, "%dd", &days); err == nil && fmt.Sprintf("%dd", days) == s && days > 0 {
		return Duration{Duration: time.Duration(days) * 24 * time.Hour, text: s}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return Duration{}, fmt.Errorf("bad duration %q: want e.g. 90d or 720h", s)
	}
	return Duration{Duration: d, text: s}, nil
}
