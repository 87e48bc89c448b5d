package audit

import (
	"time"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/policy"
	"k8s.io/client-go/rest"
)

// Defaults of Options.
const (
	// DefaultConcurrency bounds lookups in flight: enough to hide registry
	// latency, few enough to be polite to a registry (as `check --resolve`).
	DefaultConcurrency = 8
	// DefaultPageSize is how many objects one list request returns: large
	// pages keep requests few, small enough that one page of pods stays a
	// few MiB.
	DefaultPageSize = 500
)

// Options configure Run.
type Options struct {
	// Config reaches the cluster. Required.
	Config *rest.Config
	// Policies judge the subjects. Required.
	Policies *policy.Set
	// Resolver resolves lineages; nil judges images as written (offline).
	Resolver admission.Resolver
	// PullSecrets says whether Resolver authenticates with pods' pull
	// secrets: each image is then resolved once per credential set (pod's
	// and service account's imagePullSecrets), and service accounts are
	// listed to find which pods have none.
	PullSecrets bool
	// Namespace limits the audit to one namespace; empty: all.
	Namespace string
	// Concurrency bounds lookups in flight (DefaultConcurrency when zero).
	Concurrency int
	// PageSize is the limit of each list request (DefaultPageSize when
	// zero).
	PageSize int64
	// Now is the time exceptions and base ages are judged at (time.Now
	// when nil).
	Now func() time.Time
	// Progress, when set, is told how many distinct images are to be
	// resolved (once, before the first) and of each one resolved.
	Progress Progress
}

// Progress follows the resolution of images.
type Progress interface {
	Start(total int)
	Done()
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
