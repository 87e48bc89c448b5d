package crd

import (
	"encoding/json"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConditionReady is the condition serve writes: True when the object's
// latest generation is in force, False with the reason otherwise.
const ConditionReady = "Ready"

// Reasons of the Ready condition.
const (
	// ReasonInForce: the latest generation loaded and is in force.
	ReasonInForce = "InForce"
	// ReasonInvalid: the latest generation does not load; an earlier one
	// may stay in force (Status.InForce says which).
	ReasonInvalid = "Invalid"
	// ReasonNameConflict: another policy in force has the same name (a
	// policy file or another object); this object is not in force.
	ReasonNameConflict = "NameConflict"
	// ReasonNotApplied: a Kyverno ClusterPolicy with rules that do not
	// only check container images; baseguard leaves it to Kyverno.
	ReasonNotApplied = "NotApplied"
)

// Status is what serve writes in a policy object's status.
type Status struct {
	// ObservedGeneration is the generation serve last read.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Rules counts the rules in force (0: none).
	Rules int64 `json:"rules"`
	// InForce, while the latest generation does not load, is the earlier
	// one that stays in force: every replica, and every restart, applies
	// it until a generation loads again.
	InForce *InForce `json:"inForce,omitempty"`
	// Notes are what `baseguard policy lint` finds in the version in
	// force: risks in its patterns, how an imported policy is read.
	Notes      []string           `json:"notes,omitempty"`
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// InForce is a generation of an object kept in force.
type InForce struct {
	Generation int64           `json:"generation"`
	Spec       json.RawMessage `json:"spec"`
}

// StatusSchema is the schema of Status.
func StatusSchema() props {
	preserve := true
	mapType := "map"
	str := props{Type: "string"}
	return props{
		Type:        "object",
		Description: "Written by baseguard serve: whether the policy is in force, and what lint finds in it.",
		Properties: map[string]props{
			"observedGeneration": {Type: "integer", Format: "int64", Description: "the generation last read"},
			"rules":              {Type: "integer", Format: "int64", Description: "the rules in force"},
			"inForce": {
				Type:        "object",
				Description: "while the latest generation does not load, the earlier one that stays in force",
				Required:    []string{"generation", "spec"},
				Properties: map[string]props{
					"generation": {Type: "integer", Format: "int64"},
					"spec":       {Type: "object", XPreserveUnknownFields: &preserve},
				},
			},
			"notes": {Type: "array", Description: "risks and notes `baseguard policy lint` finds in the version in force", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &str}},
			"conditions": {
				Type:         "array",
				XListType:    &mapType,
				XListMapKeys: []string{"type"},
				Items:        &apiextensionsv1.JSONSchemaPropsOrArray{Schema: conditionSchema()},
			},
		},
	}
}

// conditionSchema is metav1.Condition's.
func conditionSchema() *props {
	return &props{
		Type:     "object",
		Required: []string{"type", "status", "lastTransitionTime", "reason"},
		Properties: map[string]props{
			"type":               {Type: "string"},
			"status":             {Type: "string", Enum: []apiextensionsv1.JSON{jsonValue("True"), jsonValue("False"), jsonValue("Unknown")}},
			"observedGeneration": {Type: "integer", Format: "int64"},
			"lastTransitionTime": {Type: "string", Format: "date-time"},
			"reason":             {Type: "string"},
			"message":            {Type: "string"},
		},
	}
}
