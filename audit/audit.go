package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// Audit is the outcome of one audit of a cluster.
type Audit struct {
	// Time is when the audit judged (exceptions and base ages are as of
	// then).
	Time time.Time
	// Namespace is the namespace audited, empty for all.
	Namespace string
	// Workloads are the workloads found, by namespace, kind and name.
	Workloads []*Workload
	// Policies are the policies that judged.
	Policies *policy.Set
	// Images is how many distinct images (per credential set) were
	// resolved.
	Images int
	// Notes say what the audit could not see (API groups that could not be
	// discovered); Problems what it could not check (objects that could not
	// be read): those make the audit incomplete.
	Notes, Problems []string
}

// Workload is a top owner of pods, or a pod-template-bearing object
// without pods, with what it runs.
type Workload struct {
	Resource *subject.Resource
	// UID is the workload object's.
	UID string
	// Pods counts the workload's pods that exist and have not finished;
	// zero for a workload judged on its template.
	Pods int
	// Items are the distinct images it runs, where, with their results.
	Items []*Item
}

// Item is one distinct (field, container, image) of a workload.
type Item struct {
	Subject subject.Subject
	// Containers counts the containers of the workload's pods that run it:
	// one per pod for a container list entry, zero for a template and for
	// what is not a container (an image volume).
	Containers int
	Lineage    lineage.Lineage
	Results    []policy.Result
	creds      credentials
}

// Results returns every result, workload by workload.
func (a *Audit) Results() []policy.Result {
	var out []policy.Result
	for _, w := range a.Workloads {
		for _, it := range w.Items {
			out = append(out, it.Results...)
		}
	}
	return out
}

// The client's rate limit when the configuration sets none (client-go's
// default, 5 per second, would make a large audit wait on itself): kubectl's.
const (
	clientQPS   = 50
	clientBurst = 300
)

// clientConfig is cfg with kubectl's rate limit when it sets none.
func clientConfig(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = clientQPS, clientBurst
	}
	return cfg
}

// Run audits the cluster opts.Config reaches.
func Run(ctx context.Context, opts Options) (*Audit, error) {
	opts = opts.withDefaults()
	if opts.Config == nil || opts.Policies == nil {
		return nil, errors.New("auditing: a cluster and policies are required")
	}
	cfg := clientConfig(opts.Config)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("making a Kubernetes client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("making a discovery client: %w", err)
	}
	c := &cluster{dyn: dyn, disc: disc, namespace: opts.Namespace, pageSize: opts.PageSize, declared: opts.Policies.Workloads()}
	a := &Audit{Time: opts.Now(), Namespace: opts.Namespace, Policies: opts.Policies}
	b, err := read(ctx, c, opts, a)
	if err != nil {
		return nil, err
	}
	a.Workloads = b.workloads()
	a.Images, err = resolve(ctx, a.Workloads, opts)
	if err != nil {
		return nil, err
	}
	for _, w := range a.Workloads {
		for _, it := range w.Items {
			it.Results = opts.Policies.Evaluate(&it.Subject, it.Lineage, a.Time)
		}
	}
	return a, nil
}

// read lists the cluster into a builder.
func read(ctx context.Context, c *cluster, opts Options, a *Audit) (*builder, error) {
	b := newBuilder(opts.PullSecrets)
	if err := b.readNamespaces(ctx, c); err != nil {
		return nil, err
	}
	kinds, notes, err := c.workloadKinds()
	if err != nil {
		return nil, err
	}
	a.Notes = append(a.Notes, notes...)
	for _, k := range kinds {
		err := b.readOwners(ctx, c, k)
		if apierrors.IsForbidden(err) {
			a.Notes = append(a.Notes, fmt.Sprintf("%s are not listed (%v): pods they own count as the workloads below them", k.gvr.GroupResource(), err))
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	if opts.PullSecrets && opts.Resolver != nil {
		b.readServiceAccounts(ctx, c)
	}
	if err := b.readPods(ctx, c); err != nil {
		return nil, err
	}
	a.Problems = append(a.Problems, b.problems...)
	return b, nil
}

// sortWorkloads orders workloads by namespace, kind and name.
func sortWorkloads(ws []*Workload) {
	slices.SortFunc(ws, func(x, y *Workload) int {
		a, b := x.Resource, y.Resource
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.APIVersion, b.APIVersion)
	})
}
