package admission

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
)

// Credentials say where the registry credentials of a pod's images are:
// its imagePullSecrets and its service account's, in its namespace.
type Credentials struct {
	Namespace      string
	ServiceAccount string
	PullSecrets    []string
}

// Resolver resolves an image's lineage. It must honour ctx's deadline; a
// lineage it cannot resolve carries the reason in Err (and, where it can,
// the image itself as its first entry, so rules about the image still
// decide). Implementations must be safe for concurrent use.
type Resolver interface {
	Resolve(ctx context.Context, ref imageref.Ref, creds Credentials) lineage.Lineage
}

// ResolverFunc adapts a function to a Resolver.
type ResolverFunc func(ctx context.Context, ref imageref.Ref, creds Credentials) lineage.Lineage

// Resolve calls f.
func (f ResolverFunc) Resolve(ctx context.Context, ref imageref.Ref, creds Credentials) lineage.Lineage {
	return f(ctx, ref, creds)
}

// ErrResolveTimeout is wrapped by the lineage error of an image whose
// resolution did not finish within the request's budget.
var ErrResolveTimeout = errors.New("lineage not resolved within the admission budget")

// Offline returns the resolver that looks nothing up: an image's lineage is
// the image itself, as written. Rules about the image decide; rules about
// its bases are undecidable.
func Offline() Resolver { return offline{} }

type offline struct{}

var _ Resolver = offline{}

func (offline) Resolve(_ context.Context, ref imageref.Ref, _ Credentials) lineage.Lineage {
	return lineage.Of(ref, lineage.SourceReference)
}

// resolverPanic carries a panic out of a resolving goroutine so that the
// request's own goroutine re-raises it (and the handler recovers it).
type resolverPanic struct {
	value any
	stack []byte
}

func (p resolverPanic) String() string {
	return fmt.Sprintf("resolver panicked: %v\n%s", p.value, p.stack)
}

// resolveWorkers bounds the references one review resolves at once: a
// review of thousands of images must not start thousands of goroutines.
const resolveWorkers = 32

// resolveAll resolves every distinct reference within budget, at most
// resolveWorkers at once. References that did not finish in time get the
// image itself as lineage, with an error wrapping ErrResolveTimeout.
func resolveAll(ctx context.Context, r Resolver, budget time.Duration, refs []imageref.Ref, creds Credentials) []lineage.Lineage {
	out := make([]lineage.Lineage, len(refs))
	if _, ok := r.(offline); ok {
		for i, ref := range refs {
			out[i] = lineage.Of(ref, lineage.SourceReference)
		}
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	todo := make(chan int, len(refs))
	for i := range refs {
		todo <- i
	}
	close(todo)
	ch := make(chan resolved, len(refs)) // buffered: late resolvers never block
	for range min(len(refs), resolveWorkers) {
		go func() {
			for i := range todo {
				if ctx.Err() != nil {
					return
				}
				ch <- resolveOne(ctx, r, i, refs[i], creds)
			}
		}()
	}
	finished := make([]bool, len(refs))
	for range refs {
		select {
		case d := <-ch:
			if d.panics != nil {
				panic(*d.panics)
			}
			out[d.i], finished[d.i] = withImage(d.l, refs[d.i]), true
		case <-ctx.Done():
			for i, ref := range refs {
				if !finished[i] {
					out[i] = timedOut(ref, budget, ctx.Err())
				}
			}
			return out
		}
	}
	return out
}

// resolved is one reference's lineage, or the resolver's panic.
type resolved struct {
	i      int
	l      lineage.Lineage
	panics *resolverPanic
}

// resolveOne resolves refs[i], recovering a panic so that the request's
// own goroutine re-raises it.
func resolveOne(ctx context.Context, r Resolver, i int, ref imageref.Ref, creds Credentials) (d resolved) {
	defer func() {
		if v := recover(); v != nil {
			d = resolved{i: i, panics: &resolverPanic{value: v, stack: debug.Stack()}}
		}
	}()
	return resolved{i: i, l: r.Resolve(ctx, ref, creds)}
}

// withImage keeps the image itself in a lineage that failed to resolve, so
// that the failure is the policy's onResolveError choice and rules about the
// image as written still decide.
func withImage(l lineage.Lineage, ref imageref.Ref) lineage.Lineage {
	if l.Err != nil && len(l.Entries) == 0 {
		l.Entries = lineage.Unconfirmed(ref, lineage.SourceReference, l.Err).Entries
	}
	return l
}

// timedOut is the lineage of an image not resolved within the budget: the
// image itself, a tag written beside its digest unconfirmed.
func timedOut(ref imageref.Ref, budget time.Duration, cause error) lineage.Lineage {
	if errors.Is(cause, context.DeadlineExceeded) {
		return lineage.Unconfirmed(ref, lineage.SourceReference, fmt.Errorf("resolving %s: %w of %s", ref.Familiar(), ErrResolveTimeout, budget))
	}
	return lineage.Unconfirmed(ref, lineage.SourceReference, fmt.Errorf("resolving %s: %w: %w", ref.Familiar(), ErrResolveTimeout, cause))
}
