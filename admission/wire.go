package admission

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/baseguard/baseguard/subject"
	"go.yaml.in/yaml/v3"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// wireReview is an AdmissionReview whose objects are left in the body as
// they stand: decoding the review copies none of them.
type wireReview struct {
	metav1.TypeMeta `json:",inline"`
	Request         *wireRequest `json:"request"`
}

// wireRequest shadows the request's raw objects.
type wireRequest struct {
	admissionv1.AdmissionRequest
	Object    rawObject `json:"object"`
	OldObject rawObject `json:"oldObject"`
}

// rawObject is an object's JSON, a slice of the review's body (which lives
// as long as the review); nil for null or absent.
type rawObject []byte

// UnmarshalJSON keeps b, a slice of the body being decoded.
func (o *rawObject) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*o = nil
		return nil
	}
	*o = b
	return nil
}

// Limits of one object, whatever it holds; an object beyond them is
// refused, not judged in part.
const (
	// MaxObjectValues bounds the keys and values of one object: its tree
	// then holds at most 40 MiB. A pod of 8,000 containers with the fields
	// kube-apiserver fills in has about 240,000.
	MaxObjectValues = 1 << 18
	// MaxObjectImages bounds the images of one object (container images
	// and image volumes), and with them the lineages and results a review
	// holds: thousands of containers are judged, tens of thousands refused.
	MaxObjectImages = 10000
)

// errObjectTooLarge is wrapped by the error of an object beyond the limits.
var errObjectTooLarge = errors.New("too large to judge")

// object is what a review keeps of an object once it has been read: the
// node tree is dropped, the strings subjects hold stay.
type object struct {
	res  *subject.Resource
	subs []subject.Subject
	// creds say where the pod's registry credentials are.
	creds Credentials
	// notices are what subject tells of an object it may not judge in full
	// (a kind it does not know that holds a container list).
	notices []string
}

// readObject reads an object's resource and subjects with
// subject.ReadObject, and its pod's credentials. values is
// countValues(raw); the tree is built in s, and dropped before readObject
// returns. kind is the request's, for an object that names none.
// The object's resource is nil when its kind is not one baseguard judges.
func readObject(name string, raw rawObject, values int, s *slab, kind metav1.GroupVersionKind, opt subject.Options) (*object, error) {
	if values > MaxObjectValues {
		return nil, fmt.Errorf("the %s holds more than %d keys and values: %w", name, MaxObjectValues, errObjectTooLarge)
	}
	tree, err := objectTree(raw, values, s)
	if err != nil {
		return nil, fmt.Errorf("reading the %s: %w", name, err)
	}
	if tree.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("reading the %s: not a JSON object", name)
	}
	withKind(tree, kind)
	var notices []string
	opt.OnNotice = func(n subject.Notice) { notices = append(notices, n.String()) }
	res, subs, err := subject.ReadObject(name, tree, opt)
	if err != nil {
		return nil, fmt.Errorf("reading the %s: %w", name, err)
	}
	if len(subs) > MaxObjectImages {
		return nil, fmt.Errorf("the %s holds %d images, more than %d: %w", name, len(subs), MaxObjectImages, errObjectTooLarge)
	}
	o := &object{res: res, subs: subs, notices: notices}
	if len(subs) > 0 {
		o.creds = credentials(podSpec(tree, subs[0]), res.Namespace)
	}
	return o, nil
}

// podSpec finds the pod spec a subject was read from: its field path up to
// the container list (`spec.template.spec` of
// `spec.template.spec.containers[0].image`).
func podSpec(tree *yaml.Node, s subject.Subject) *yaml.Node {
	i := strings.LastIndex(s.Field, "."+string(s.List)+"[")
	if i < 0 {
		return nil
	}
	n := tree
	for _, key := range strings.Split(s.Field[:i], ".") {
		key, index, indexed := strings.Cut(key, "[")
		n = child(n, key)
		if indexed {
			k, err := strconv.Atoi(strings.TrimSuffix(index, "]"))
			if n == nil || n.Kind != yaml.SequenceNode || err != nil || k < 0 || k >= len(n.Content) {
				return nil
			}
			n = n.Content[k]
		}
	}
	return n
}

// credentials says where the registry credentials of a pod spec's images
// are: its service account (default when unset) and imagePullSecrets.
func credentials(spec *yaml.Node, namespace string) Credentials {
	c := Credentials{Namespace: namespace, ServiceAccount: scalar(child(spec, "serviceAccountName"))}
	if c.ServiceAccount == "" {
		c.ServiceAccount = "default"
	}
	if secrets := child(spec, "imagePullSecrets"); secrets != nil && secrets.Kind == yaml.SequenceNode {
		for _, s := range secrets.Content {
			if name := scalar(child(s, "name")); name != "" {
				c.PullSecrets = append(c.PullSecrets, name)
			}
		}
	}
	return c
}

// child returns the value of key in a mapping node, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return ""
	}
	return n.Value
}
