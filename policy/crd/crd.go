package crd

import (
	"fmt"
	"strings"

	"github.com/baseguard/baseguard/policy"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The resources the CRDs define.
var (
	// BaseImagePolicies are baseguard's own policies as objects.
	BaseImagePolicies = schema.GroupVersionResource{Group: group(policy.APIVersion), Version: version(policy.APIVersion), Resource: "baseimagepolicies"}
	// ClusterPolicies are Kyverno's cluster-wide policies.
	ClusterPolicies = schema.GroupVersionResource{Group: "kyverno.io", Version: "v1", Resource: "clusterpolicies"}
)

// KyvernoCompatLabel marks the ClusterPolicy CRD made here, telling it
// from Kyverno's own.
const KyvernoCompatLabel = "baseguard.dev/kyverno-compat"

func group(apiVersion string) string   { g, _, _ := strings.Cut(apiVersion, "/"); return g }
func version(apiVersion string) string { _, v, _ := strings.Cut(apiVersion, "/"); return v }

// readyColumn reads the Ready condition's status, as Kyverno's READY
// column does.
const readyColumn = `.status.conditions[?(@.type=="Ready")].status`

// BaseImagePolicy is the CRD of BaseImagePolicy objects: cluster-scoped,
// the spec's props generated from the model with docs, a status
// subresource that serve writes.
func BaseImagePolicy(docs Docs) (*apiextensionsv1.CustomResourceDefinition, error) {
	spec, err := SpecSchema(docs)
	if err != nil {
		return nil, err
	}
	root := props{
		Type:        "object",
		Description: "A base-image policy (" + policy.APIVersion + " " + policy.Kind + "): rules over what the images of pod-bearing workloads are built on. `baseguard serve` applies it beside its policy files and reports in its status whether it is in force.",
		Required:    []string{"spec"},
		Properties: map[string]props{
			"apiVersion": {Type: "string"},
			"kind":       {Type: "string"},
			"metadata":   {Type: "object"},
			"spec":       *spec,
			"status":     StatusSchema(),
		},
	}
	root.Properties["spec"] = withDescription(*spec, docs["Spec"])
	return definition(BaseImagePolicies, policy.Kind, []string{"bip"}, root, []apiextensionsv1.CustomResourceColumnDefinition{
		{Name: "Action", Type: "string", JSONPath: ".spec.action", Description: "what a failing rule does, unless it says otherwise"},
		{Name: "Rules", Type: "integer", JSONPath: ".status.rules", Description: "rules in force"},
		{Name: "Ready", Type: "string", JSONPath: readyColumn, Description: "whether the latest version is in force"},
		{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
		{Name: "Message", Type: "string", JSONPath: `.status.conditions[?(@.type=="Ready")].message`, Priority: 1},
	}), nil
}

func withDescription(s props, d string) props {
	s.Description = d
	return s
}

// KyvernoClusterPolicy is a minimal CRD for kyverno.io/v1 ClusterPolicy,
// for clusters that do not run Kyverno: it keeps every field as written
// (Kyverno's props is not repeated) and has the status subresource serve
// writes. It must never be installed beside Kyverno, whose own CRD it
// would replace.
func KyvernoClusterPolicy() *apiextensionsv1.CustomResourceDefinition {
	preserve := true
	root := props{
		Type:        "object",
		Description: "A Kyverno ClusterPolicy, kept as written. This minimal definition is baseguard's, for clusters without Kyverno: `baseguard serve --kyverno-policies` applies the ClusterPolicies whose rules all check container images and reports in their status whether they are in force.",
		Required:    []string{"spec"},
		Properties: map[string]props{
			"apiVersion": {Type: "string"},
			"kind":       {Type: "string"},
			"metadata":   {Type: "object"},
			"spec": {
				Type:                   "object",
				XPreserveUnknownFields: &preserve,
				Required:               []string{"rules"},
				Properties: map[string]props{
					"rules":                   {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &props{Type: "object", XPreserveUnknownFields: &preserve}}},
					"validationFailureAction": {Type: "string", Enum: []apiextensionsv1.JSON{jsonValue("Audit"), jsonValue("Enforce"), jsonValue("audit"), jsonValue("enforce")}},
					"background":              {Type: "boolean"},
				},
			},
			"status": withPreserve(StatusSchema()),
		},
	}
	crd := definition(ClusterPolicies, "ClusterPolicy", []string{"cpol"}, root, []apiextensionsv1.CustomResourceColumnDefinition{
		{Name: "Background", Type: "boolean", JSONPath: ".spec.background"},
		{Name: "Action", Type: "string", JSONPath: ".spec.validationFailureAction"},
		{Name: "Ready", Type: "string", JSONPath: readyColumn},
		{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
		{Name: "Message", Type: "string", JSONPath: `.status.conditions[?(@.type=="Ready")].message`, Priority: 1},
	})
	crd.Labels[KyvernoCompatLabel] = "true"
	crd.Annotations = map[string]string{
		"baseguard.dev/description": "Minimal ClusterPolicy CRD for clusters without Kyverno. Never install it where Kyverno runs: Kyverno's CRD (labelled app.kubernetes.io/part-of=kyverno) defines this resource.",
		// Uninstalling the chart must not delete the users' ClusterPolicies
		// with their CRD.
		"helm.sh/resource-policy": "keep",
	}
	return crd
}

func withPreserve(s props) props {
	preserve := true
	s.XPreserveUnknownFields = &preserve
	return s
}

// definition assembles a cluster-scoped CRD of one served, stored version
// with a status subresource.
func definition(gvr schema.GroupVersionResource, kind string, short []string, root props, columns []apiextensionsv1.CustomResourceColumnDefinition) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{
			Name:   gvr.Resource + "." + gvr.Group,
			Labels: map[string]string{"app.kubernetes.io/name": "baseguard", "app.kubernetes.io/part-of": "baseguard"},
		},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: gvr.Group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural:     gvr.Resource,
				Singular:   strings.ToLower(kind),
				Kind:       kind,
				ListKind:   kind + "List",
				ShortNames: short,
			},
			Scope: apiextensionsv1.ClusterScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name:                     gvr.Version,
				Served:                   true,
				Storage:                  true,
				Schema:                   &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &root},
				Subresources:             &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				AdditionalPrinterColumns: columns,
			}},
		},
	}
}

// Name is a CRD's object name, for messages.
func Name(gvr schema.GroupVersionResource) string {
	return fmt.Sprintf("%s.%s", gvr.Resource, gvr.Group)
}
