package audit

import (
	"context"
	"strings"
	"sync"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
)

// imageKey is one resolution: an image as written and the credential set
// it is pulled with.
type imageKey struct {
	image string
	creds credentials
}

// resolve gives every item its lineage, resolving each distinct image once
// per credential set with at most opts.Concurrency lookups in flight. It
// returns how many resolutions were made.
func resolve(ctx context.Context, ws []*Workload, opts Options) (int, error) {
	lineages := map[imageKey]lineage.Lineage{}
	var todo []imageKey
	for _, w := range ws {
		for _, it := range w.Items {
			k := imageKey{it.Subject.Image, it.creds}
			if _, ok := lineages[k]; ok {
				continue
			}
			lineages[k] = lineage.Lineage{}
			todo = append(todo, k)
		}
	}
	if opts.Progress != nil {
		opts.Progress.Start(len(todo))
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, opts.Concurrency)
	for _, k := range todo {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return 0, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			l := lineageOf(ctx, opts.Resolver, k)
			mu.Lock()
			lineages[k] = l
			mu.Unlock()
			if opts.Progress != nil {
				opts.Progress.Done()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	for _, w := range ws {
		for _, it := range w.Items {
			it.Lineage = lineages[imageKey{it.Subject.Image, it.creds}]
		}
	}
	return len(todo), nil
}

// lineageOf resolves one image: as written when there is no resolver; an
// invalid reference is an error lineage, judged an error by every rule.
func lineageOf(ctx context.Context, r admission.Resolver, k imageKey) lineage.Lineage {
	ref, err := imageref.Parse(k.image)
	if err != nil {
		return lineage.Lineage{Err: err}
	}
	if r == nil {
		return lineage.Of(ref, lineage.SourceReference)
	}
	creds := admission.Credentials{Namespace: k.creds.namespace, ServiceAccount: k.creds.serviceAccount}
	if k.creds.pullSecrets != "" {
		creds.PullSecrets = strings.Split(k.creds.pullSecrets, ",")
	}
	l := r.Resolve(ctx, ref, creds)
	if l.Err != nil && len(l.Entries) == 0 {
		l.Entries = lineage.Unconfirmed(ref, lineage.SourceReference, l.Err).Entries
	}
	return l
}
