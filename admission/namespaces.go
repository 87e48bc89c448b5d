package admission

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// NamespaceLabeler gives the labels of a namespace, for policies' namespace
// selectors. Implementations must be safe for concurrent use.
type NamespaceLabeler interface {
	NamespaceLabels(ctx context.Context, name string) (map[string]string, error)
}

// NamespaceLabelerFunc adapts a function to a NamespaceLabeler.
type NamespaceLabelerFunc func(ctx context.Context, name string) (map[string]string, error)

// NamespaceLabels calls f.
func (f NamespaceLabelerFunc) NamespaceLabels(ctx context.Context, name string) (map[string]string, error) {
	return f(ctx, name)
}

// namespaceResync is how often the namespace cache is re-listed in full;
// the watch keeps it current in between, so this only heals a missed event.
const namespaceResync = 10 * time.Minute

var namespacesResource = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// namespaceCache answers from a watch of namespaces' metadata (labels
// only are kept) and falls back to a GET for a namespace it has not seen
// yet (one created a moment ago).
type namespaceCache struct {
	client   metadata.Interface
	informer cache.SharedIndexInformer
	stop     context.CancelFunc // ends the watch; the caller's context does too
}

var _ NamespaceLabeler = (*namespaceCache)(nil)

// namespaceListTimeout bounds the wait for the first list of namespaces.
const namespaceListTimeout = 30 * time.Second

// WatchNamespaces returns a NamespaceLabeler that watches the cluster's
// namespaces (metadata only; RBAC: get, list and watch namespaces) until
// ctx ends. It returns once the namespaces are listed, or with the error
// of the first list (a 403 when RBAC does not allow it), so that namespace
// labels are known readable before the first review.
func WatchNamespaces(ctx context.Context, cfg *rest.Config) (NamespaceLabeler, error) {
	client, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("making a metadata client: %w", err)
	}
	inf := metadatainformer.NewFilteredMetadataInformer(client, namespacesResource, "", namespaceResync, cache.Indexers{}, nil).Informer()
	if err := inf.SetTransform(keepLabels); err != nil {
		return nil, fmt.Errorf("watching namespaces: %w", err)
	}
	failed := make(chan error, 1)
	err = inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
		select {
		case failed <- err:
		default:
		}
		cache.DefaultWatchErrorHandler(ctx, r, err)
	})
	if err != nil {
		return nil, fmt.Errorf("watching namespaces: %w", err)
	}
	ctx, stop := context.WithCancel(ctx)
	go inf.RunWithContext(ctx)
	if err := listed(ctx, inf, failed); err != nil {
		stop()
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	return &namespaceCache{client: client, informer: inf, stop: stop}, nil
}

// listed waits for an informer's first list, its first error, or
// namespaceListTimeout.
func listed(ctx context.Context, inf cache.SharedIndexInformer, failed <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, namespaceListTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !inf.HasSynced() {
		select {
		case err := <-failed:
			return err
		case <-ctx.Done():
			return fmt.Errorf("not listed within %s: %w", namespaceListTimeout, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// keepLabels drops everything but a namespace's name and labels before it
// is cached.
func keepLabels(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta:   m.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: m.Name, ResourceVersion: m.ResourceVersion, Labels: m.Labels},
	}, nil
}

// NamespaceLabels returns the cached labels, or fetches them.
func (c *namespaceCache) NamespaceLabels(ctx context.Context, name string) (map[string]string, error) {
	if obj, ok, err := c.informer.GetStore().GetByKey(name); err == nil && ok {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			return labelsOf(m), nil
		}
	}
	m, err := c.client.Resource(namespacesResource).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("getting namespace %s: %w", name, err)
	}
	return labelsOf(m), nil
}

// labelsOf never returns nil for a namespace that exists: nil means
// "unknown" to policies.
func labelsOf(m *metav1.PartialObjectMetadata) map[string]string {
	if m.Labels == nil {
		return map[string]string{"kubernetes.io/metadata.name": m.Name}
	}
	return m.Labels
}
