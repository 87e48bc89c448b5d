package crd

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/baseguard/baseguard/policy"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// fieldRule is what the schema says of a field beyond its type. Each is
// what the loader checks, so kubectl refuses early what would not load.
type fieldRule struct {
	required bool
	// enum: the values allowed (of the items, for a list).
	enum []string
	// def is the value the API server fills in when the field is absent;
	// only where the loader reads absence the same way.
	def string
	// minItems for a list, minLength for a string.
	minItems, minLength int64
	// listMapKey makes a list a map keyed by that field: the API server
	// refuses two items with the same key, and server-side apply merges
	// items by it.
	listMapKey string
}

func (r fieldRule) apply(s *props) error {
	target := s
	if s.Type == "array" {
		target = s.Items.Schema
		if r.minItems > 0 {
			s.MinItems = &r.minItems
		}
		if r.listMapKey != "" {
			mapType := "map"
			s.XListType, s.XListMapKeys = &mapType, []string{r.listMapKey}
		}
	} else if r.minItems > 0 || r.listMapKey != "" {
		return fmt.Errorf("minItems and listMapKey are for lists, not %s", s.Type)
	}
	if r.minLength > 0 {
		target.MinLength = &r.minLength
	}
	for _, v := range r.enum {
		target.Enum = append(target.Enum, jsonValue(v))
	}
	if r.def != "" {
		d := jsonValue(r.def)
		s.Default = &d
	}
	return nil
}

func jsonValue(v string) apiextensionsv1.JSON {
	raw, _ := json.Marshal(v)
	return apiextensionsv1.JSON{Raw: raw}
}

// Enumerations the loader accepts (each checked against it by a test).
var (
	actions         = []string{string(policy.Enforce), string(policy.Audit), string(policy.Warn)}
	resolveErrors   = []string{"deny", "allow", "warn"}
	operations      = []string{"CREATE", "UPDATE"}
	labelOperations = []string{"In", "NotIn", "Exists", "DoesNotExist"}
	scopes          = []string{string(policy.ScopeLineage), string(policy.ScopeImage), string(policy.ScopeBase), string(policy.ScopeBases)}
)

// fields are the rules of fields, by the Go type holding them (the
// struct a field is inlined into) and their YAML name.
var fields = map[string]fieldRule{
	"Spec.action":                 {enum: actions, def: string(policy.DefaultAction)},
	"Spec.onResolveError":         {enum: resolveErrors},
	"Spec.rules":                  {required: true, minItems: 1, listMapKey: "name"},
	"Rule.name":                   {required: true, minLength: 1},
	"Rule.action":                 {enum: actions},
	"Rule.scope":                  {enum: scopes},
	"ActionOverride.action":       {required: true, enum: actions},
	"Match.operations":            {enum: operations},
	"Filter.operations":           {enum: operations},
	"LabelExpression.key":         {required: true, minLength: 1},
	"LabelExpression.operator":    {required: true, enum: labelOperations},
	"Exception.name":              {required: true, minLength: 1},
	"Exception.reason":            {required: true, minLength: 1},
	"Workload.apiVersion":         {required: true, minLength: 1},
	"Workload.kind":               {required: true, minLength: 1},
	"Workload.templatePath":       {required: true, minLength: 1},
	"Signers.keys":                {required: true, minItems: 1},
	"VulnerabilityGate.keys":      {required: true, minItems: 1},
	"VulnerabilityGate.failOn":    {required: true},
	"VulnerabilityIgnore.id":      {required: true, minLength: 1},
	"VulnerabilityIgnore.expires": {required: true},
	"VulnerabilityIgnore.reason":  {required: true, minLength: 1},
}

// Patterns of the scalar types that read themselves from YAML: each
// admits at least what the loader admits (a test checks it on samples).
const (
	// imagePattern: the loader refuses an empty pattern and one holding
	// white space or a separator (`a | b`, `a, b`).
	imagePattern = `^[^ \t\n|,]+$`
	// datePattern: a day (2027-01-31) or an RFC 3339 time.
	datePattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt].+)?$`
	// durationPattern: a whole number of days (90d) or a Go duration
	// (720h, 1h30m, 1.5h).
	durationPattern = `^([0-9]+d|\+?([0-9]*\.?[0-9]*(ns|us|µs|μs|ms|s|m|h))+)$`
	// severityPattern: the severities that can fail a scan, in any case.
	severityPattern = `^(?i:critical|high|medium|low)$`
	// notBlankPattern: a key or trusted root (a path, or the PEM or JSON
	// itself) is not blank.
	notBlankPattern = `\S`
)

var one = int64(1)

// scalarTypes are the model's types that decode themselves from YAML,
// with their schema.
var scalarTypes = map[reflect.Type]props{
	reflect.TypeOf(policy.Pattern{}): {Type: "string", MinLength: &one, Pattern: imagePattern,
		Description: "an image pattern: a glob (`*` crosses `/`) or a reference, tried against the reference as written and its canonical form"},
	reflect.TypeOf(policy.Date{}): {Type: "string", Pattern: datePattern,
		Description: "a day (2027-01-31: good through that day, UTC) or an RFC 3339 time"},
	reflect.TypeOf(policy.Duration{}): {Type: "string", Pattern: durationPattern,
		Description: "a Go duration or a whole number of days: 720h, 90d"},
	reflect.TypeOf(policy.SeverityLevel{}): {Type: "string", Pattern: severityPattern,
		Description: "the lowest severity that fails: critical, high, medium or low"},
	reflect.TypeOf(policy.Key{}): {Type: "string", Pattern: notBlankPattern,
		Description: "a PEM public key (ECDSA, Ed25519 or RSA), written inline: a policy object has no file for a key's path to be relative to"},
	reflect.TypeOf(policy.Root{}): {Type: "string", Pattern: notBlankPattern,
		Description: "a Sigstore trusted_root.json, written inline"},
}
