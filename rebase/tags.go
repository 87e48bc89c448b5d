package rebase

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// maxTagListBytes bounds a cached tag list read back from disk: far above
// the tags of any real repository.
const maxTagListBytes = 16 << 20

// tagLister lists a repository's tags once per process, and from disk
// within registry.DefaultTagTTL of the run that listed them.
type tagLister struct {
	puller *remote.Puller
	dir    string // empty: no disk cache
	ttl    time.Duration
	now    func() time.Time

	mu    sync.Mutex
	lists map[string]*tagList
}

// tagList is one repository's list, fetched once.
type tagList struct {
	once sync.Once
	tags []string
	err  error
}

func newTagLister(p *remote.Puller, cacheDir string) *tagLister {
	dir := ""
	if cacheDir != "" {
		dir = filepath.Join(cacheDir, "taglists")
	}
	return &tagLister{puller: p, dir: dir, ttl: registry.DefaultTagTTL, now: time.Now, lists: map[string]*tagList{}}
}

// list returns the repository's tags.
func (l *tagLister) list(ctx context.Context, repo name.Repository) ([]string, error) {
	l.mu.Lock()
	tl, ok := l.lists[repo.Name()]
	if !ok {
		tl = &tagList{}
		l.lists[repo.Name()] = tl
	}
	l.mu.Unlock()
	tl.once.Do(func() { tl.tags, tl.err = l.fetch(ctx, repo) })
	if tl.err != nil {
		l.mu.Lock()
		delete(l.lists, repo.Name()) // a failure is not remembered
		l.mu.Unlock()
	}
	return tl.tags, tl.err
}

func (l *tagLister) fetch(ctx context.Context, repo name.Repository) ([]string, error) {
	if tags, ok := l.read(repo); ok {
		return tags, nil
	}
	tags, err := l.puller.List(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("listing the tags of %s: %w", repo, err)
	}
	l.write(repo, tags)
	return tags, nil
}

// path names a repository's file by a hash of its name, so no name can
// point outside the cache.
func (l *tagLister) path(repo name.Repository) string {
	sum := sha256.Sum256([]byte(repo.Name()))
	return filepath.Join(l.dir, hex.EncodeToString(sum[:]))
}

func (l *tagLister) read(repo name.Repository) ([]string, bool) {
	if l.dir == "" {
		return nil, false
	}
	f, err := os.Open(l.path(repo))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || l.now().Sub(fi.ModTime()) > l.ttl {
		return nil, false
	}
	var c struct {
		Repository string   `json:"repository"`
		Tags       []string `json:"tags"`
	}
	b, err := io.ReadAll(io.LimitReader(f, maxTagListBytes+1))
	if err != nil || len(b) > maxTagListBytes || json.Unmarshal(b, &c) != nil || c.Repository != repo.Name() {
		return nil, false
	}
	return c.Tags, true
}

// write keeps the list on disk, best effort: a cache that cannot be
// written is a cache that misses.
func (l *tagLister) write(repo name.Repository, tags []string) {
	if l.dir == "" {
		return
	}
	b, err := json.Marshal(map[string]any{"repository": repo.Name(), "tags": tags})
	if err != nil || os.MkdirAll(l.dir, 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(l.dir, ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), l.path(repo)) != nil {
		os.Remove(tmp.Name())
	}
}
