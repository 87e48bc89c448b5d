package registry

import (
	"context"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// sharedFetcher lets concurrent callers asking for the same fact share one
// fetch. The fetch runs detached from any one caller (a caller that gives
// up does not fail the others), bounded by the first caller's deadline,
// and is cancelled when every caller has given up. Each caller returns
// when its own context ends.
type sharedFetcher struct {
	inner Fetcher
	mu    sync.Mutex
	calls map[string]*call
}

// call is one fetch in flight.
type call struct {
	done    chan struct{}
	val     any
	err     error
	waiters int
	cancel  context.CancelFunc
}

var _ Fetcher = (*sharedFetcher)(nil)

// ShareInFlight wraps f so that concurrent requests for the same key make
// one request.
func ShareInFlight(f Fetcher) Fetcher { return &sharedFetcher{inner: f, calls: map[string]*call{}} }

func (s *sharedFetcher) Head(ctx context.Context, ref name.Reference) (v1.Descriptor, error) {
	return share(ctx, s, "head "+ref.Name(), func(ctx context.Context) (v1.Descriptor, error) {
		return s.inner.Head(ctx, ref)
	})
}

func (s *sharedFetcher) Manifest(ctx context.Context, ref name.Reference) (*Manifest, error) {
	return share(ctx, s, "manifest "+ref.Name(), func(ctx context.Context) (*Manifest, error) {
		return s.inner.Manifest(ctx, ref)
	})
}

func (s *sharedFetcher) Blob(ctx context.Context, ref name.Digest, limit int64) ([]byte, error) {
	// The limit is not in the key: a blob is fetched for one purpose.
	return share(ctx, s, "blob "+ref.DigestStr(), func(ctx context.Context) ([]byte, error) {
		return s.inner.Blob(ctx, ref, limit)
	})
}

func share[T any](ctx context.Context, s *sharedFetcher, key string, fetch func(context.Context) (T, error)) (T, error) {
	c := s.join(ctx, key, func(fctx context.Context) (any, error) { return fetch(fctx) })
	select {
	case <-c.done:
		if c.err != nil {
			var zero T
			return zero, c.err
		}
		return c.val.(T), nil
	case <-ctx.Done():
		s.leave(key, c)
		var zero T
		return zero, context.Cause(ctx)
	}
}

// join returns the call in flight for key, starting one if there is none.
func (s *sharedFetcher) join(ctx context.Context, key string, fetch func(context.Context) (any, error)) *call {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.calls[key]; ok {
		c.waiters++
		return c
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if d, ok := ctx.Deadline(); ok {
		cancel()
		fctx, cancel = context.WithDeadline(context.WithoutCancel(ctx), d)
	}
	c := &call{done: make(chan struct{}), waiters: 1, cancel: cancel}
	s.calls[key] = c
	go func() {
		defer cancel()
		c.val, c.err = fetch(fctx)
		s.mu.Lock()
		if s.calls[key] == c {
			delete(s.calls, key)
		}
		s.mu.Unlock()
		close(c.done)
	}()
	return c
}

// leave drops a caller that gave up; the last one to go cancels the fetch.
func (s *sharedFetcher) leave(key string, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.waiters--
	if c.waiters == 0 {
		c.cancel()
		if s.calls[key] == c {
			delete(s.calls, key)
		}
	}
}
