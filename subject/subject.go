package subject

import (
	"fmt"

	"github.com/baseguard/baseguard/lineage"
)

// List names a container list of a pod spec.
type List string

// The container lists of a pod spec.
const (
	Containers          List = "containers"
	InitContainers      List = "initContainers"
	EphemeralContainers List = "ephemeralContainers"
)

// Volumes is a pod spec's volumes: an image volume
// (`volumes[].image.reference`) mounts an image's content.
const Volumes List = "volumes"

// Lists are all container lists, in the order a pod spec declares them.
// Image volumes (Volumes) are read after them.
var Lists = []List{InitContainers, Containers, EphemeralContainers}

// KindDockerfile is the resource kind of a Dockerfile.
const KindDockerfile = "Dockerfile"

// Resource is where subjects come from: a Kubernetes object or a Dockerfile.
type Resource struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	// File is the file the resource was read from ("-" for standard input),
	// empty for objects that never were in a file (admission requests).
	File string
	// Line is the line of the resource's document in File.
	Line int
	// Labels are the resource's own labels (metadata.labels).
	Labels map[string]string
	// NamespaceLabels are the labels of the resource's namespace, nil when
	// unknown.
	NamespaceLabels map[string]string
	// NamespaceLabelsErr is why NamespaceLabels is nil when looking them up
	// failed (as opposed to nobody having looked): rules that select
	// namespaces by label then cannot be checked.
	NamespaceLabelsErr error
	// User is who asked for the resource in an admission request; nil
	// where that is unknown (check, audit). Rules that select requesters
	// then apply as though their match held and their exclude did not.
	User *User
	// Operation is the admission operation (CREATE, UPDATE); empty where
	// there is none (check, audit).
	Operation string
}

// User is the requester of an admission request: the request's userInfo
// and, where they were looked up, the RBAC roles bound to it.
type User struct {
	// Name is the username as the API server gives it; a service account
	// is `system:serviceaccount:NAMESPACE:NAME`.
	Name string
	// Groups are the user's groups.
	Groups []string
	// RolesKnown says whether Roles and ClusterRoles were looked up.
	// Without them, rules that select requesters by role cannot be
	// decided, and apply.
	RolesKnown bool
	// Roles are the Roles bound to the user by RoleBindings, each as
	// `NAMESPACE:NAME`; ClusterRoles the ClusterRoles bound by
	// ClusterRoleBindings and by RoleBindings in the request's namespace
	// (as Kyverno computes them).
	Roles, ClusterRoles []string
}

// ID names the resource for people: `Deployment/default/web`, or a
// Dockerfile's path.
func (r *Resource) ID() string {
	switch {
	case r.Kind == KindDockerfile:
		return r.Name
	case r.Namespace == "":
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Subject is one container image in context.
type Subject struct {
	Resource *Resource
	// Container is the container's name (the volume's name for an image
	// volume, the stage name for a Dockerfile).
	Container string
	// List is the container list, or Volumes; empty for a Dockerfile.
	List List
	// Field is the path of the image field, `spec.template.spec.containers[0].image`,
	// or `FROM` for a Dockerfile.
	Field string
	// Image is the reference as written (for a Dockerfile, after ARG
	// substitution and stage aliases).
	Image string
	// Line and Column locate Image in Resource.File; zero when unknown.
	Line, Column int
	// Source says what the first lineage entry of this subject is.
	Source lineage.Source
	// Platform is the platform a Dockerfile FROM pulls its image for: its
	// --platform after substitution, or the target platform when the FROM
	// reads differently per target platform; empty when it is the same for
	// every target platform (see Platforms).
	Platform string
	// Platforms are the target platforms a Dockerfile subject is built for.
	// A FROM without --platform pulls its image for each: what it is built
	// on can differ per platform even when the reference does not.
	Platforms []string
	// Scratch reports a Dockerfile whose shipped stage starts FROM scratch.
	Scratch bool
	// BuildInput, when set, says how a Dockerfile's build pulls this image
	// in besides the shipped base (`COPY --from`, `RUN --mount`, `# syntax`,
	// `FROM` of a stage the shipped one uses). Only deny rules judge it.
	BuildInput string
}

// Location is `file:line` of the image, or the resource's file.
func (s *Subject) Location() string {
	if s.Line > 0 {
		return fmt.Sprintf("%s:%d", s.Resource.File, s.Line)
	}
	return s.Resource.File
}
