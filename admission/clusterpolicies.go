package admission

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/policy/crd"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Defaults of WatchClusterPolicies.
const (
	// DefaultSyncTimeout bounds the wait for the first list of policy
	// objects: the server must not answer before it knows every policy.
	DefaultSyncTimeout = 30 * time.Second
	// objectResync re-lists policy objects in full: the watch keeps them
	// current, this heals a missed event or status write.
	objectResync = 10 * time.Minute
)

// ClusterPolicyOptions configure WatchClusterPolicies.
type ClusterPolicyOptions struct {
	// Kyverno also watches kyverno.io/v1 ClusterPolicies, for clusters
	// that do not run Kyverno.
	Kyverno bool
	// SyncTimeout bounds the first list (DefaultSyncTimeout when zero).
	SyncTimeout time.Duration
	// Logger receives a line per policy object change (discarded when nil).
	Logger *slog.Logger
}

// ClusterPolicies are the policies given as objects in a cluster:
// BaseImagePolicies and, when asked, Kyverno ClusterPolicies. Each object
// is loaded on its own; one that does not load keeps its last good version
// in force, and each object's status says whether it is in force and why
// not. Give it to a Server with Options.ClusterPolicies: its policies are
// then in force beside the policy files'.
type ClusterPolicies struct {
	client    dynamic.Interface
	informers map[string]cache.SharedIndexInformer // by resource
	queue     workqueue.TypedRateLimitingInterface[objectKey]
	log       *slog.Logger
	ctx       context.Context
	// stop ends the watches: when the parent context ends, or at once
	// when they fail to start.
	stop context.CancelFunc

	mu        sync.Mutex
	entries   map[objectKey]*objectEntry
	conflicts map[objectKey]string
	// accept refuses what the server cannot apply (setAccept).
	accept accepter

	// store is the server's policy store, once attached.
	store    *policyStore
	metrics  *metrics
	attached atomic.Bool
	builtin  bool // whether the built-in policy was in force at the last composition
}

// WatchClusterPolicies watches the cluster's policy objects until ctx
// ends (RBAC: get, list and watch them, update their status). It returns
// once every object has been read, or fails: the CRD is not installed,
// Kyverno itself is (with Kyverno set), or the objects cannot be listed.
func WatchClusterPolicies(ctx context.Context, cfg *rest.Config, opts ClusterPolicyOptions) (*ClusterPolicies, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SyncTimeout <= 0 {
		opts.SyncTimeout = DefaultSyncTimeout
	}
	gvrs := []schema.GroupVersionResource{crd.BaseImagePolicies}
	if opts.Kyverno {
		gvrs = append(gvrs, crd.ClusterPolicies)
	}
	if err := checkServed(cfg, gvrs, opts.Kyverno); err != nil {
		return nil, err
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("making a dynamic client: %w", err)
	}
	ctx, stop := context.WithCancel(ctx)
	c := &ClusterPolicies{
		stop:      stop,
		client:    client,
		informers: map[string]cache.SharedIndexInformer{},
		queue:     workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[objectKey]()),
		log:       opts.Logger,
		ctx:       ctx,
		entries:   map[objectKey]*objectEntry{},
	}
	go func() { <-ctx.Done(); c.queue.ShutDown() }()
	var listErr atomic.Value
	for _, gvr := range gvrs {
		inf, err := c.watch(gvr, &listErr)
		if err != nil {
			c.stop()
			return nil, err
		}
		c.informers[gvr.Resource] = inf
		go inf.RunWithContext(ctx)
	}
	if err := c.sync(ctx, opts.SyncTimeout, &listErr); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// watch makes the informer of one resource; its events queue the object.
func (c *ClusterPolicies) watch(gvr schema.GroupVersionResource, listErr *atomic.Value) (cache.SharedIndexInformer, error) {
	inf := dynamicinformer.NewFilteredDynamicInformer(c.client, gvr, "", objectResync, cache.Indexers{}, nil).Informer()
	enqueue := func(obj any) {
		if name, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			c.queue.Add(objectKey{resource: gvr.Resource, name: name})
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	}); err != nil {
		return nil, fmt.Errorf("watching %s: %w", gvr.Resource, err)
	}
	err := inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		listErr.Store(fmt.Errorf("watching %s: %w", gvr.Resource, err))
		c.log.Warn("watching policy objects", "resource", gvr.Resource, "error", err)
	})
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", gvr.Resource, err)
	}
	return inf, nil
}

// sync waits for the first list of every resource, then reads every
// object.
func (c *ClusterPolicies) sync(ctx context.Context, timeout time.Duration, listErr *atomic.Value) error {
	syncCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for resource, inf := range c.informers {
		if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
			why, _ := listErr.Load().(error)
			if why == nil {
				why = syncCtx.Err()
			}
			return fmt.Errorf("listing %s within %s (RBAC: get, list, watch): %w", resource, timeout, why)
		}
	}
	for resource, inf := range c.informers {
		for _, obj := range inf.GetStore().List() {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				c.update(objectKey{resource: resource, name: u.GetName()}, u)
			}
		}
	}
	return nil
}

// checkServed fails when a resource is not served (its CRD is missing),
// or, for Kyverno's, when Kyverno itself is installed: it serves more of
// kyverno.io than the ClusterPolicies, and applies them itself.
func checkServed(cfg *rest.Config, gvrs []schema.GroupVersionResource, kyverno bool) error {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("making a discovery client: %w", err)
	}
	for _, gvr := range gvrs {
		list, err := dc.ServerResourcesForGroupVersion(gvr.GroupVersion().String())
		served := false
		var others []string
		if err == nil {
			for _, r := range list.APIResources {
				switch r.Name {
				case gvr.Resource:
					served = true
				case gvr.Resource + "/status":
				default:
					others = append(others, r.Name)
				}
			}
		}
		if !served {
			return fmt.Errorf("%s is not served: install the CustomResourceDefinition %s (the chart installs it; or deploy/)", gvr.GroupResource(), crd.Name(gvr))
		}
		if kyverno && gvr == crd.ClusterPolicies && len(others) > 0 {
			return fmt.Errorf("kyverno.io/v1 serves %v besides clusterpolicies: Kyverno is installed and applies its ClusterPolicies itself; watch them only where Kyverno does not run", others)
		}
	}
	return nil
}

// Policies returns the objects' policies in force now (names taken by
// nothing else), for what is set up once, such as a resolver's catalog.
func (c *ClusterPolicies) Policies() []*policy.Policy {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, _ := inForce(c.entries, nil)
	return ps
}

// policiesInForce returns the objects' policies in force beside files
// that take the names reserved (name → file), and remembers which objects
// that leaves out.
func (c *ClusterPolicies) policiesInForce(reserved map[string]string) []*policy.Policy {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, conflicts := inForce(c.entries, reserved)
	for k, why := range conflicts {
		if c.conflicts[k] != why {
			c.log.Warn("policy object not in force", "object", k.String(), "reason", why)
		}
	}
	c.conflicts = conflicts
	return ps
}

// setAccept makes the objects' policies pass accept, the server's test of
// what it can apply (namespace selectors need namespace labels): every
// object is read again with it, and one that fails it is refused in its
// status as one that does not load.
func (c *ClusterPolicies) setAccept(accept accepter) {
	c.mu.Lock()
	c.accept = accept
	keys := make([]objectKey, 0, len(c.entries))
	for k := range c.entries {
		keys = append(keys, k)
	}
	c.entries = map[objectKey]*objectEntry{}
	c.mu.Unlock()
	for _, k := range keys {
		if u, ok := c.object(k); ok {
			c.update(k, u)
		}
	}
}

// attach makes store's set follow the objects, and starts writing their
// status.
func (c *ClusterPolicies) attach(store *policyStore, m *metrics) {
	if !c.attached.CompareAndSwap(false, true) {
		return
	}
	c.store, c.metrics = store, m
	c.builtin = store.builtinInForce()
	c.queue.Add(objectKey{}) // compose and write every status
	go c.run()
}

// recheck asks for every object's status to be checked: the policy files
// changed, and with them the names they take.
func (c *ClusterPolicies) recheck() { c.queue.Add(objectKey{}) }

func (c *ClusterPolicies) run() {
	for {
		key, quit := c.queue.Get()
		if quit {
			return
		}
		if err := c.process(key); err != nil {
			c.queue.AddRateLimited(key)
		} else {
			c.queue.Forget(key)
		}
		c.queue.Done(key)
	}
}

// process reads a changed object (objectKey{}: none, the files changed),
// recomposes the policies in force when an object changed, and writes the
// statuses that differ from what they should say.
func (c *ClusterPolicies) process(key objectKey) error {
	changed := key == objectKey{}
	if !changed {
		u, _ := c.object(key)
		changed = c.update(key, u)
	}
	if !changed {
		return c.check(key)
	}
	if err := c.store.compose(); err != nil {
		c.log.Error("the policies in force do not compile; the previous ones stay in force", "error", err)
	}
	if b := c.store.builtinInForce(); b != c.builtin {
		c.builtin = b
		if b {
			c.log.Info("the built-in policy is in force: no policy file or object gives one")
		} else {
			c.log.Info("the built-in policy is no longer in force: policy objects give the policies")
		}
	}
	var errs []error
	for _, k := range c.keys() {
		if err := c.check(k); err != nil {
			c.queue.AddRateLimited(k)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// object is the cached object of a key (nil, false when there is none).
func (c *ClusterPolicies) object(key objectKey) (*unstructured.Unstructured, bool) {
	inf := c.informers[key.resource]
	if inf == nil {
		return nil, false
	}
	obj, ok, err := inf.GetStore().GetByKey(key.name)
	if err != nil || !ok {
		return nil, false
	}
	u, ok := obj.(*unstructured.Unstructured)
	return u, ok
}

func (c *ClusterPolicies) keys() []objectKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]objectKey, 0, len(c.entries))
	for k := range c.entries {
		keys = append(keys, k)
	}
	return keys
}

// update reads a new generation of an object, or forgets a deleted one
// (u nil); it reports whether the entry changed.
func (c *ClusterPolicies) update(key objectKey, u *unstructured.Unstructured) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.entries[key]
	if u == nil {
		if old == nil {
			return false
		}
		delete(c.entries, key)
		c.log.Info("policy object deleted: its policy is no longer in force", "object", key.String())
		return true
	}
	if old != nil && old.uid == u.GetUID() && old.generation == u.GetGeneration() {
		return false
	}
	e := readPolicyObject(old, key, u, c.accept)
	c.entries[key] = e
	c.logRead(key, e)
	return true
}

func (c *ClusterPolicies) logRead(key objectKey, e *objectEntry) {
	outcome := "success"
	switch {
	case e.err == nil:
		c.log.Info("policy object in force", "object", key.String(), "generation", e.generation, "policy", e.good.policy.Metadata.Name, "rules", len(e.good.policy.Spec.Rules))
	case e.good != nil:
		outcome = "error"
		c.log.Error("policy object does not load; its last good version stays in force", "object", key.String(), "generation", e.generation, "inForceGeneration", e.good.generation, "error", e.err.Reason())
	default:
		outcome = "error"
		c.log.Error("policy object does not load; nothing of it is in force", "object", key.String(), "generation", e.generation, "error", e.err.Reason())
	}
	if c.metrics != nil {
		c.metrics.reloads.WithLabelValues("policy-object", outcome).Inc()
	}
}

// check writes an object's status when it differs from what it should say.
func (c *ClusterPolicies) check(key objectKey) error {
	u, ok := c.object(key)
	if !ok {
		return nil
	}
	c.mu.Lock()
	e, conflict := c.entries[key], c.conflicts[key]
	c.mu.Unlock()
	if e == nil || e.uid != u.GetUID() || e.generation != u.GetGeneration() {
		return nil // a newer version is queued
	}
	cur := currentStatus(u)
	want := objectStatus(cur, e, conflict)
	if sameStatus(cur, want) {
		return nil
	}
	if err := writeStatus(c.ctx, c.client, key, u, want); err != nil {
		level := slog.LevelWarn
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			level = slog.LevelDebug // another replica wrote it, or it is gone: the watch brings the news
		}
		c.log.Log(c.ctx, level, "status not written; retrying", "object", key.String(), "error", err)
		return err
	}
	return nil
}

// resourceOf is the resource of a key.
func resourceOf(key objectKey) schema.GroupVersionResource {
	for _, w := range watchedKinds {
		if w.gvr.Resource == key.resource {
			return w.gvr
		}
	}
	return schema.GroupVersionResource{Resource: key.resource}
}
