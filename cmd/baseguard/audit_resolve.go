package main

import (
	"context"
	"fmt"
	"io"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/trust"
	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// auditPullSecretMemoryBytes bounds the in-memory cache of each credential
// set's registry client: the few private images a set pulls.
const auditPullSecretMemoryBytes = 4 << 20

// resolver is what the audit resolves with: nil with --offline; else the
// registry client `check --resolve` uses (catalog, disk cache) and, with
// --pull-secrets, one client per credential set that names pull secrets
// (no disk cache: facts read with a namespace's secrets stay in memory).
func (o *auditOptions) resolver(notice io.Writer, set *policy.Set, cfg *rest.Config) (admission.Resolver, error) {
	if o.offline {
		return nil, nil
	}
	var ropts []registry.ResolveOption
	if o.platform != "" {
		ropts = append(ropts, registry.ForPlatform(o.platform))
	}
	c, err := o.resolve.pipeline(set, notice)
	if err != nil {
		return nil, err
	}
	def := auditResolver{c: c, opts: ropts}
	if !o.pullSecrets {
		return def, nil
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("making a Kubernetes client: %w", err)
	}
	base, err := o.resolve.clientOptions(set, io.Discard) // notes were printed once above
	if err != nil {
		return nil, err
	}
	return admission.PullSecrets(admission.PullSecretOptions{
		Client:  kube,
		Default: def,
		NewResolver: func(kc authn.Keychain) (admission.Resolver, error) {
			opts := append(base, registry.WithKeychain(kc), registry.WithMemory(registry.MemoryConfig{Bytes: auditPullSecretMemoryBytes}))
			c, err := registry.New(opts...)
			if err != nil {
				return nil, fmt.Errorf("making a registry client: %w", err)
			}
			return auditResolver{c: trust.New(c, trust.ForPolicies(set), trust.WithTimeout(o.resolve.timeout)), opts: ropts}, nil
		},
	}), nil
}

// auditResolver resolves with a registry client through resolveOne, the
// path `check --resolve` takes.
type auditResolver struct {
	c    lineageSource
	opts []registry.ResolveOption
}

var _ admission.Resolver = auditResolver{}

func (r auditResolver) Resolve(ctx context.Context, ref imageref.Ref, _ admission.Credentials) lineage.Lineage {
	return resolveOne(ctx, r.c, ref, r.opts...)
}
