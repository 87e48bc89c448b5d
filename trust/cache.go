package trust

import (
	"container/list"
	"sync"
	"time"

	"github.com/baseguard/baseguard/lineage"
)

// factsCache keeps the trust facts of images for a while, least recently
// used dropped first. Facts are what registries hold, never a decision;
// a failed look is never kept.
type factsCache struct {
	mu      sync.Mutex
	max     int
	found   time.Duration
	missing time.Duration
	now     func() time.Time
	order   *list.List // of *cached, most recent first
	byKey   map[string]*list.Element
}

type cached struct {
	key     string
	facts   *lineage.Trust
	expires time.Time
}

func newFactsCache(max int, found, missing time.Duration, now func() time.Time) *factsCache {
	return &factsCache{max: max, found: found, missing: missing, now: now, order: list.New(), byKey: map[string]*list.Element{}}
}

// get returns fresh facts for key.
func (c *factsCache) get(key string) (*lineage.Trust, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cached)
	if !c.now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.byKey, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.facts, true
}

// put keeps facts: for the short missing TTL when they lack what the
// policies need (it may be pushed soon), for the found TTL otherwise.
// Failed looks are not kept.
func (c *factsCache) put(key string, t *lineage.Trust, missing bool) {
	if t.Err != nil || c.max <= 0 {
		return
	}
	ttl := c.found
	if missing {
		ttl = c.missing
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &cached{key: key, facts: t, expires: c.now().Add(ttl)}
	if el, ok := c.byKey[key]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(e)
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*cached).key)
	}
}
