package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
	"github.com/baseguard/baseguard/trust"
	"github.com/spf13/pflag"
)

// resolveConcurrency bounds lookups in flight during `check --resolve`:
// enough to hide registry latency, few enough to be polite to a registry.
const resolveConcurrency = 8

// resolveFlags are the flags of commands that look images up in registries.
type resolveFlags struct {
	catalog []string
	offline bool
	timeout time.Duration
}

func (r *resolveFlags) register(f *pflag.FlagSet) {
	f.StringArrayVar(&r.catalog, "catalog", nil, "known base image, recognised by its layers (repeatable; adds to the policies' spec.catalog)")
	f.BoolVar(&r.offline, "offline", false, "use only the local cache, never the network")
	f.DurationVar(&r.timeout, "timeout", registry.DefaultTimeout, "give up resolving one image after this long")
}

// client builds the process's one registry client: the catalog from the
// policies (set may be nil) and --catalog, the disk cache, offline or not.
func (r *resolveFlags) client(set *policy.Set, notice io.Writer) (*registry.Client, error) {
	opts, err := r.clientOptions(set, notice)
	if err != nil {
		return nil, err
	}
	if dir, err := registry.DefaultCacheDir(); err == nil {
		opts = append(opts, registry.WithDiskCache(dir))
	}
	if r.offline {
		opts = append(opts, registry.WithOffline())
	}
	return registry.New(opts...)
}

// clientOptions are the options of every registry client of the process:
// the catalog, the user agent, the timeout.
func (r *resolveFlags) clientOptions(set *policy.Set, notice io.Writer) ([]registry.Option, error) {
	var refs []imageref.Ref
	if set != nil {
		var notes []string
		refs, notes = registry.CatalogRefs(set.Catalog())
		for _, n := range notes {
			fmt.Fprintln(notice, "baseguard: note: "+n)
		}
	}
	for _, s := range r.catalog {
		ref, err := imageref.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("--catalog: %w", err)
		}
		refs = append(refs, ref)
	}
	return []registry.Option{registry.WithCatalog(refs...), registry.WithUserAgent("baseguard/" + version), registry.WithTimeout(r.timeout)}, nil
}

// lineages gives each subject its lineage.
type lineages interface {
	of(s *subject.Subject) lineage.Lineage
}

// offlineLineages makes each subject's lineage from its reference alone,
// parsing each distinct reference once.
type offlineLineages map[string]lineage.Lineage

func (c offlineLineages) of(s *subject.Subject) lineage.Lineage {
	if s.Scratch {
		return lineage.Lineage{}
	}
	if l, ok := c[s.Image]; ok {
		return withSource(l, s.Source)
	}
	var l lineage.Lineage
	ref, err := imageref.Parse(s.Image)
	if err != nil {
		l = lineage.Lineage{Err: err}
	} else {
		l = lineage.Of(ref, lineage.SourceReference)
	}
	c[s.Image] = l
	return withSource(l, s.Source)
}

// pipeline is the resolution check --resolve (and audit) judge with: the
// registry client, and the signatures and scans of every lineage entry
// when a rule of set judges them.
func (r *resolveFlags) pipeline(set *policy.Set, notice io.Writer) (*trust.Resolver, error) {
	c, err := r.client(set, notice)
	if err != nil {
		return nil, err
	}
	return trust.New(c, trust.ForPolicies(set), trust.WithTimeout(r.timeout)), nil
}

// lineageSource gives an image's lineage: a registry client, or the trust
// pipeline over one.
type lineageSource interface {
	Lineage(ctx context.Context, ref imageref.Ref, opts ...registry.ResolveOption) lineage.Lineage
}

// resolvedLineages are lineages looked up in registries, by image and by
// the platform it was resolved for.
type resolvedLineages map[platformImage]lineage.Lineage

// platformImage is an image as resolved for a platform ("" for the
// default: the primary platform, or the one --platform names first).
type platformImage struct{ image, platform string }

func (c resolvedLineages) of(s *subject.Subject) lineage.Lineage {
	if s.Scratch {
		return lineage.Lineage{}
	}
	return withSource(c[platformImage{s.Image, s.Platform}], s.Source)
}

// resolveAll looks up every distinct image of the subjects once per
// platform it is judged for, a few at a time, and returns their lineages:
// a Dockerfile judged for linux/arm64 is resolved for linux/arm64; other
// subjects for defaultPlatform (empty: the image's primary platform).
// Registry calls grow with distinct images, not with subjects.
func resolveAll(ctx context.Context, c lineageSource, subs []*subject.Subject, defaultPlatform string) resolvedLineages {
	out := resolvedLineages{}
	type job struct {
		key platformImage
		ref imageref.Ref
	}
	var todo []job
	for _, s := range subs {
		key := platformImage{s.Image, s.Platform}
		if _, seen := out[key]; seen || s.Scratch {
			continue
		}
		ref, err := imageref.Parse(s.Image)
		if err != nil {
			out[key] = lineage.Lineage{Err: err}
			continue
		}
		out[key] = lineage.Lineage{}
		todo = append(todo, job{key, ref})
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, resolveConcurrency)
	for _, j := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			l := resolveOne(ctx, c, j.ref, platformOption(j.key.platform, defaultPlatform)...)
			mu.Lock()
			out[j.key] = l
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// perPlatform splits each Dockerfile subject whose FROM pulls its image for
// every target platform (no --platform, the same reference for each) into
// one subject per platform: resolved, the image's lineage can differ per
// platform, and each is judged.
func perPlatform(subs []*subject.Subject) []*subject.Subject {
	var out []*subject.Subject
	for _, s := range subs {
		if s.Resource.Kind != subject.KindDockerfile || s.Platform != "" || len(s.Platforms) < 2 || s.Scratch {
			out = append(out, s)
			continue
		}
		for _, p := range s.Platforms {
			c := *s
			c.Platform, c.Platforms = p, []string{p}
			out = append(out, &c)
		}
	}
	return out
}

// platformOption resolves for the subject's platform, else the default,
// else the image's primary platform.
func platformOption(platform, defaultPlatform string) []registry.ResolveOption {
	if platform == "" {
		platform = defaultPlatform
	}
	if platform == "" {
		return nil
	}
	return []registry.ResolveOption{registry.ForPlatform(platform)}
}

// resolveOne resolves one image: the one resolution path of `check
// --resolve` and `audit`.
func resolveOne(ctx context.Context, c lineageSource, ref imageref.Ref, opts ...registry.ResolveOption) lineage.Lineage {
	return c.Lineage(ctx, ref, opts...)
}

// withSource marks the first entry with the subject's source: a
// Dockerfile's base was named by a FROM line.
func withSource(l lineage.Lineage, src lineage.Source) lineage.Lineage {
	if len(l.Entries) == 0 || src == "" || l.Entries[0].Source == src {
		return l
	}
	entries := append([]lineage.Entry(nil), l.Entries...)
	entries[0].Source = src
	l.Entries = entries
	return l
}
