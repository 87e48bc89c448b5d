package admission

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sync/semaphore"
)

// What a review holds in memory, as the budget counts it: its body, a copy
// of each object (the strings subjects keep), the node tree of the larger
// object (objects are read one after the other) with the subjects read
// from it, and the lineages, keys and results of every image judged. The
// constants are upper bounds measured on the worst shapes an object can
// take (BenchmarkReviewMemory).
const (
	// valueBytes is what one value of the larger object costs while it is
	// read: its node (nodeBytes) and its share of the subjects made from
	// the tree (a container image needs three values at least).
	valueBytes = nodeBytes + 64
	// imageBytes is what one image judged costs until the review ends: its
	// subject, lineage, failure keys and counted results.
	imageBytes = 1024
	// reviewBytes is the fixed cost of a review: the decoded envelope,
	// the response, the decision's kept results.
	reviewBytes = 64 << 10
)

// reviewWeight is what the budget reserves for a review of body bytes
// whose objects hold values keys and values. An object of more than
// MaxObjectValues is refused unread and weighs nothing beyond its body:
// however large, it is denied as too large to judge, never answered 429.
func reviewWeight(body int, values [2]int) int64 {
	for i, v := range values {
		if v > MaxObjectValues {
			values[i] = 0
		}
	}
	larger := slabNodes(max(values[0], values[1]))
	images := min((values[0]+values[1])/3, 2*MaxObjectImages)
	return int64(2*body) + int64(larger)*valueBytes + int64(images)*imageBytes + reviewBytes
}

// Defaults of the memory budget.
const (
	// DefaultMemoryBudget is the memory reviews in flight may hold: two
	// reviews of the largest size kube-apiserver sends, with a quarter
	// kept for small ones (ordinary reviews hold about 100 KiB).
	DefaultMemoryBudget = 160 << 20
	// budgetWait is how long a review waits for its share before it is
	// answered 429 with Retry-After: long enough for a burst of ordinary
	// reviews to drain, short enough that nothing queues for long.
	budgetWait = 500 * time.Millisecond
	// smallReviewShare: reviews weighing more than this share of the budget
	// are large, and large reviews together hold at most three quarters of
	// the budget, so ordinary reviews always find room.
	smallReviewShare  = 64
	largeReviewsShare = 0.75
)

// errBusy is the error of a review the budget had no room for in time.
var errBusy = errors.New("the webhook's memory budget is in use by other reviews")

// memoryBudget bounds the memory reviews in flight hold: a review reserves
// its weight before it reads its body, and more once it knows how many
// values its objects hold. Waiting is bounded; a review that finds no room
// in time is refused (kube-apiserver retries it after Retry-After), so
// nothing queues without bound.
//
// It bounds their CPU too: large reviews (thousands of images, hundreds of
// thousands of values) take a tenth of a second or more each, so at most
// one fewer than the server's CPUs (at least one) are judged at once, and
// ordinary reviews always find a CPU free of them.
type memoryBudget struct {
	total       int64
	all, large  *semaphore.Weighted
	largeLimit  int64 // what large reviews may hold at once
	smallWeight int64 // reviews heavier than this are large
	// lanes are the large reviews judged at once, one place each.
	lanes *semaphore.Weighted
	wait  time.Duration
}

func newMemoryBudget(total int64) *memoryBudget {
	large := int64(float64(total) * largeReviewsShare)
	return &memoryBudget{
		total:       total,
		all:         semaphore.NewWeighted(total),
		large:       semaphore.NewWeighted(large),
		largeLimit:  large,
		smallWeight: total / smallReviewShare,
		lanes:       semaphore.NewWeighted(int64(max(1, runtime.GOMAXPROCS(0)-1))),
		wait:        budgetWait,
	}
}

// reservation is what one review holds of the budget.
type reservation struct {
	b          *memoryBudget
	ctx        context.Context // the request's: waiting ends with it
	all, large int64
	lane       bool // holds a place among the large reviews judged at once
}

// reserve makes an empty reservation for a request whose context is ctx.
func (b *memoryBudget) reserve(ctx context.Context) *reservation {
	return &reservation{b: b, ctx: ctx}
}

// grow adds n bytes to the reservation, waiting at most the budget's wait
// (and never past the request's end). It fails with errBusy when no room
// was found in time, or at once when n can never fit.
func (r *reservation) grow(n int64) error {
	b := r.b
	if n <= 0 {
		return nil
	}
	large := r.large > 0 || r.all+n > b.smallWeight
	if large && r.all+n > b.largeLimit {
		return fmt.Errorf("%w: a review of %d MiB never fits in the %d MiB that large reviews share", errBusy, (r.all+n)>>20, b.largeLimit>>20)
	}
	ctx, cancel := context.WithTimeout(r.ctx, b.wait)
	defer cancel()
	if large && !r.lane {
		if err := b.lanes.Acquire(ctx, 1); err != nil {
			return fmt.Errorf("%w: other large reviews are being judged (waited %s)", errBusy, b.wait)
		}
		r.lane = true
	}
	if large {
		// Move what is held into the large share first.
		need := n + r.all - r.large
		if err := b.large.Acquire(ctx, need); err != nil {
			return fmt.Errorf("%w (waited %s)", errBusy, b.wait)
		}
		r.large += need
	}
	if err := b.all.Acquire(ctx, n); err != nil {
		return fmt.Errorf("%w (waited %s)", errBusy, b.wait)
	}
	r.all += n
	return nil
}

// shrink gives back n bytes of the reservation (fewer read than reserved).
func (r *reservation) shrink(n int64) {
	n = min(n, r.all)
	if n <= 0 {
		return
	}
	r.b.all.Release(n)
	r.all -= n
	if r.large > r.all {
		r.b.large.Release(r.large - r.all)
		r.large = r.all
	}
}

// release gives everything back, its place among large reviews too.
func (r *reservation) release() {
	r.shrink(r.all)
	if r.lane {
		r.b.lanes.Release(1)
		r.lane = false
	}
}
