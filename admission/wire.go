package admission

import (
	"strings"

	"github.com/baseguard/baseguard/subject"
	"go.yaml.in/yaml/v3"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// An object arrives as JSON, and subject.ReadObject reads YAML nodes. A
// full YAML parse of a pod costs more than the rest of a review, so the
// object is decoded into the few fields subjects are made of (the wire
// types, one pass of encoding/json) and those are handed to ReadObject as
// a small node tree: the same extraction as `check`, at a fraction of the
// cost. TestWireCoversEveryPodKind keeps the wire types in step with
// subject.PodKinds.

// wireReview is an AdmissionReview whose objects are decoded straight into
// wire objects: one pass over the body.
type wireReview struct {
	metav1.TypeMeta `json:",inline"`
	Request         *wireRequest `json:"request"`
}

// wireRequest shadows the request's raw objects with wire objects.
type wireRequest struct {
	admissionv1.AdmissionRequest
	Object    *wireObject `json:"object"`
	OldObject *wireObject `json:"oldObject"`
	// objectErr is why an object could not be decoded.
	objectErr error
}

// wireObject holds every place a pod-bearing kind keeps its pod spec.
type wireObject struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Metadata   wireMeta      `json:"metadata"`
	Spec       *wireSpec     `json:"spec"`
	Template   *wireTemplate `json:"template"` // PodTemplate
}

type wireMeta struct {
	Name         string            `json:"name"`
	GenerateName string            `json:"generateName"`
	Namespace    string            `json:"namespace"`
	Labels       map[string]string `json:"labels"`
}

// wireSpec is a Pod's spec, or a workload's spec holding a template, or a
// CronJob's holding a job template.
type wireSpec struct {
	wirePodSpec
	Template    *wireTemplate    `json:"template"`
	JobTemplate *wireJobTemplate `json:"jobTemplate"`
}

type wireJobTemplate struct {
	Spec *struct {
		Template *wireTemplate `json:"template"`
	} `json:"spec"`
}

type wireTemplate struct {
	Spec *wirePodSpec `json:"spec"`
}

type wirePodSpec struct {
	InitContainers      []wireContainer `json:"initContainers"`
	Containers          []wireContainer `json:"containers"`
	EphemeralContainers []wireContainer `json:"ephemeralContainers"`
	ServiceAccountName  string          `json:"serviceAccountName"`
	ImagePullSecrets    []struct {
		Name string `json:"name"`
	} `json:"imagePullSecrets"`
}

type wireContainer struct {
	Name  string  `json:"name"`
	Image *string `json:"image"`
}

// podSpec returns the object's pod spec; nil when its kind has none, or it
// lacks one.
func (o *wireObject) podSpec() *wirePodSpec {
	path, ok := subject.PodKinds[o.Kind]
	if !ok {
		return nil
	}
	switch strings.Join(path, ".") {
	case "spec":
		if o.Spec != nil {
			return &o.Spec.wirePodSpec
		}
	case "template.spec":
		if o.Template != nil {
			return o.Template.Spec
		}
	case "spec.template.spec":
		if o.Spec != nil && o.Spec.Template != nil {
			return o.Spec.Template.Spec
		}
	case "spec.jobTemplate.spec.template.spec":
		if o.Spec != nil && o.Spec.JobTemplate != nil && o.Spec.JobTemplate.Spec != nil && o.Spec.JobTemplate.Spec.Template != nil {
			return o.Spec.JobTemplate.Spec.Template.Spec
		}
	}
	return nil
}

// subjects reads the object's subjects with subject.ReadObject.
func (o *wireObject) subjects(defaultNamespace string) (*subject.Resource, []subject.Subject, error) {
	return subject.ReadObject("", o.node(), subject.Options{DefaultNamespace: defaultNamespace})
}

// node builds the YAML node tree ReadObject reads: identity, metadata and
// the pod spec's container lists at the kind's path.
func (o *wireObject) node() *yaml.Node {
	meta := mapping(
		"name", str(o.Metadata.Name),
		"generateName", str(o.Metadata.GenerateName),
		"namespace", str(o.Metadata.Namespace),
		"labels", stringMapping(o.Metadata.Labels),
	)
	obj := mapping("apiVersion", str(o.APIVersion), "kind", str(o.Kind), "metadata", meta)
	spec := o.podSpec()
	if spec == nil {
		return obj
	}
	n := spec.node()
	path := subject.PodKinds[o.Kind]
	for i := len(path) - 1; i >= 0; i-- {
		n = mapping(path[i], n)
	}
	obj.Content = append(obj.Content, n.Content...)
	return obj
}

func (s *wirePodSpec) node() *yaml.Node {
	n := mapping()
	for _, l := range []struct {
		list subject.List
		cs   []wireContainer
	}{
		{subject.InitContainers, s.InitContainers},
		{subject.Containers, s.Containers},
		{subject.EphemeralContainers, s.EphemeralContainers},
	} {
		if l.cs == nil {
			continue
		}
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, c := range l.cs {
			cn := mapping("name", str(c.Name))
			if c.Image != nil {
				cn.Content = append(cn.Content, str("image"), str(*c.Image))
			}
			seq.Content = append(seq.Content, cn)
		}
		n.Content = append(n.Content, str(string(l.list)), seq)
	}
	return n
}

// credentials says where the pod's registry credentials are.
func (s *wirePodSpec) credentials(namespace string) Credentials {
	c := Credentials{Namespace: namespace, ServiceAccount: s.ServiceAccountName}
	if c.ServiceAccount == "" {
		c.ServiceAccount = "default"
	}
	for _, p := range s.ImagePullSecrets {
		if p.Name != "" {
			c.PullSecrets = append(c.PullSecrets, p.Name)
		}
	}
	return c
}

func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Content = append(n.Content, str(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return n
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func stringMapping(m map[string]string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for k, v := range m {
		n.Content = append(n.Content, str(k), str(v))
	}
	return n
}
