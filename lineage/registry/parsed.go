package registry

import (
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultParsed bounds how many parsed manifests, indexes and configs the
// resolver keeps: parsing JSON is most of the cost of a warm lookup.
const DefaultParsed = 4096

// parsedImage is an image manifest with its parsed config; both are named
// by the manifest's digest, so they never change.
type parsedImage struct {
	manifest  *v1.Manifest
	config    *v1.ConfigFile
	rawConfig []byte
}

// parsedCache memoises parsing by digest. Entries are shared: callers must
// not modify them.
type parsedCache struct {
	mu      sync.Mutex
	images  *lru[v1.Hash, *parsedImage]
	indexes *lru[v1.Hash, *v1.IndexManifest]
}

func newParsedCache(n int64) *parsedCache {
	return &parsedCache{
		images:  newLRU[v1.Hash](n, func(*parsedImage) int64 { return 1 }),
		indexes: newLRU[v1.Hash](n, func(*v1.IndexManifest) int64 { return 1 }),
	}
}

func (c *parsedCache) image(d v1.Hash) (*parsedImage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.images.get(d)
}

func (c *parsedCache) addImage(d v1.Hash, p *parsedImage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.images.add(d, p)
}

func (c *parsedCache) index(d v1.Hash) (*v1.IndexManifest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.indexes.get(d)
}

func (c *parsedCache) addIndex(d v1.Hash, im *v1.IndexManifest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.indexes.add(d, im)
}
