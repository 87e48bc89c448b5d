package registry

import "container/list"

// lru is a least-recently-used map bounded by a total cost. It is not safe
// for concurrent use; its owner locks. A tiny one is written here rather
// than importing a module: the caches need cost-bounded eviction (bytes,
// not entries) and nothing else, in 60 lines.
type lru[K comparable, V any] struct {
	max, used int64
	cost      func(V) int64
	order     *list.List // front: most recently used
	items     map[K]*list.Element
}

type lruItem[K comparable, V any] struct {
	key   K
	value V
	cost  int64
}

func newLRU[K comparable, V any](max int64, cost func(V) int64) *lru[K, V] {
	return &lru[K, V]{max: max, cost: cost, order: list.New(), items: map[K]*list.Element{}}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	e, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruItem[K, V]).value, true
}

// add stores v under k, evicting the least recently used entries until the
// total cost fits. A value costlier than the whole cache is not stored.
func (c *lru[K, V]) add(k K, v V) {
	cost := c.cost(v)
	if cost > c.max {
		return
	}
	c.remove(k)
	c.items[k] = c.order.PushFront(&lruItem[K, V]{key: k, value: v, cost: cost})
	c.used += cost
	for c.used > c.max {
		c.remove(c.order.Back().Value.(*lruItem[K, V]).key)
	}
}

func (c *lru[K, V]) remove(k K) {
	if e, ok := c.items[k]; ok {
		c.order.Remove(e)
		delete(c.items, k)
		c.used -= e.Value.(*lruItem[K, V]).cost
	}
}

func (c *lru[K, V]) len() int { return len(c.items) }
