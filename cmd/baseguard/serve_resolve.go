package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/baseguard/baseguard/trust"
	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// pullSecretMemoryBytes bounds the in-memory cache of each credential
// set's registry client: manifests and configs of a few images, a few KiB
// each; admission.DefaultPullSecretResolvers of them stay well within the
// chart's 128 MiB memory limit beside the default client's cache.
const pullSecretMemoryBytes = 1 << 20

// kubeClient is the Kubernetes client that reads pull secrets: nil
// without --resolve --pull-secrets or without a cluster.
func (o *serveOptions) kubeClient(cfg *rest.Config) (kubernetes.Interface, error) {
	if !o.resolve || !o.pullSecrets || cfg == nil {
		return nil, nil
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("making a Kubernetes client: %w", err)
	}
	return c, nil
}

// resolver is what --resolve resolves with, nil (offline) without it: one
// registry client with Docker's credentials and the catalog of the
// policies in force at start-up; with --pull-secrets and kube, one more per
// credential set (admission.PullSecrets). Each client resolves through the
// trust pipeline, which gathers signatures and scans while need says the
// policies in force judge them.
func (o *serveOptions) resolver(log *slog.Logger, kube kubernetes.Interface, need *trust.Need) (admission.Resolver, error) {
	if !o.resolve {
		if o.pullSecrets {
			log.Warn("--pull-secrets has no effect without --resolve")
		}
		return nil, nil
	}
	catalog, err := o.catalog(log)
	if err != nil {
		return nil, err
	}
	def, err := o.registryClient(catalog, authn.DefaultKeychain, need)
	if err != nil {
		return nil, err
	}
	if !o.pullSecrets {
		return def, nil
	}
	if kube == nil {
		log.Warn("no cluster configured (no --kubeconfig, not in a pod): pods' pull secrets are not read, registries are asked with Docker's credentials only")
		return def, nil
	}
	return admission.PullSecrets(admission.PullSecretOptions{
		Client:  kube,
		Default: def,
		NewResolver: func(kc authn.Keychain) (admission.Resolver, error) {
			return o.registryClient(catalog, kc, need, registry.WithMemory(registry.MemoryConfig{Bytes: pullSecretMemoryBytes}))
		},
		Logger: log,
	}), nil
}

// catalog is the known bases of the policies serve starts with, files'
// and objects'.
func (o *serveOptions) catalog(log *slog.Logger) ([]imageref.Ref, error) {
	set, err := admission.LoadPolicies(o.policies)
	if err != nil {
		return nil, err
	}
	catalog := set.Catalog()
	if o.objects != nil {
		for _, p := range o.objects.Policies() {
			catalog = append(catalog, p.Spec.Catalog...)
		}
	}
	refs, notes := registry.CatalogRefs(catalog)
	for _, n := range notes {
		log.Warn("catalog: " + n)
	}
	return refs, nil
}

// registryClient makes a registry client, with caches of its own, that
// authenticates with kc.
func (o *serveOptions) registryClient(catalog []imageref.Ref, kc authn.Keychain, need *trust.Need, opts ...registry.Option) (admission.Resolver, error) {
	opts = append([]registry.Option{
		registry.WithCatalog(catalog...),
		registry.WithKeychain(kc),
		registry.WithUserAgent("baseguard/" + version),
		registry.WithTimeout(o.resolveBudget),
	}, opts...)
	c, err := registry.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("making the registry client: %w", err)
	}
	return clientResolver{trust.New(c, trust.WithNeed(need), trust.WithTimeout(o.resolveBudget))}, nil
}

// clientResolver resolves with a registry client through the trust
// pipeline; the credentials it authenticates with are the client's own,
// not the request's.
type clientResolver struct{ r *trust.Resolver }

var _ admission.Resolver = clientResolver{}

func (r clientResolver) Resolve(ctx context.Context, ref imageref.Ref, _ admission.Credentials) lineage.Lineage {
	return r.r.Lineage(ctx, ref)
}
