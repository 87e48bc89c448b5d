package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// diskCache keeps manifests and blobs fetched by digest in files named by
// their digest. Files are written atomically and checked against their
// name when read, so a torn or tampered file is a miss, never a wrong
// fact. Writing is best effort: a cache that cannot be written is a cache
// that misses. Tag resolutions are kept too, for DefaultTagTTL after they
// were made (the file's modification time), so CLI runs within that time
// make no request at all; the digest they name is still checked.
type diskCache struct {
	inner Fetcher
	dir   string
	ttl   time.Duration
	now   func() time.Time
}

var _ Fetcher = (*diskCache)(nil)

// DefaultCacheDir is the CLI's cache directory, baseguard under the user's
// cache directory (os.UserCacheDir).
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user cache directory: %w", err)
	}
	return filepath.Join(d, "baseguard"), nil
}

// CacheOnDisk wraps f with a cache of manifests (by repository and digest)
// and blobs (by digest) under dir, for CLI runs that follow one another.
func CacheOnDisk(f Fetcher, dir string) Fetcher {
	return &diskCache{inner: f, dir: dir, ttl: DefaultTagTTL, now: time.Now}
}

func (c *diskCache) Head(ctx context.Context, ref name.Reference) (v1.Descriptor, error) {
	if m, ok := c.cachedManifest(ref); ok {
		return m.Descriptor(), nil
	}
	d, err := c.inner.Head(ctx, ref)
	if err == nil {
		c.writeTag(ref, d.Digest)
	}
	return d, err
}

func (c *diskCache) Manifest(ctx context.Context, ref name.Reference) (*Manifest, error) {
	if m, ok := c.cachedManifest(ref); ok {
		return m, nil
	}
	m, err := c.inner.Manifest(ctx, ref)
	if err != nil {
		return nil, err
	}
	c.write(c.manifestDir(ref.Context()), m.Digest, m.Raw)
	c.writeTag(ref, m.Digest)
	return m, nil
}

// cachedManifest finds the manifest a reference names on disk: by digest,
// or by a tag resolution younger than the TTL.
func (c *diskCache) cachedManifest(ref name.Reference) (*Manifest, bool) {
	if d, ok := ref.(name.Digest); ok {
		return c.readManifest(ref.Context(), d.DigestStr())
	}
	return c.followPointer(ref.Context(), c.pointerPath("tags", ref.Name()))
}

// followPointer reads a pointer file younger than the TTL (a tag
// resolution, a referrers list) and the manifest of repo it names.
func (c *diskCache) followPointer(repo name.Repository, p string) (*Manifest, bool) {
	fi, err := os.Stat(p)
	if err != nil || c.now().Sub(fi.ModTime()) > c.ttl || fi.Size() > 256 {
		return nil, false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	return c.readManifest(repo, string(b))
}

// pointerPath names a pointer's file by a hash of what it is for, so no
// reference can name a path outside the cache.
func (c *diskCache) pointerPath(kind, name string) string {
	sum := sha256.Sum256([]byte(name))
	return filepath.Join(c.dir, kind, hex.EncodeToString(sum[:]))
}

func (c *diskCache) writeTag(ref name.Reference, h v1.Hash) {
	if _, ok := ref.(name.Tag); ok {
		c.writePointer(c.pointerPath("tags", ref.Name()), h)
	}
}

func (c *diskCache) writePointer(p string, h v1.Hash) {
	if h.Algorithm != "sha256" || !validHex(h.Hex) {
		return
	}
	writeAtomic(p, []byte(h.String()))
}

func (c *diskCache) Blob(ctx context.Context, ref name.Digest, limit int64) ([]byte, error) {
	h, err := v1.NewHash(ref.DigestStr())
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w: %w", ref, ErrMalformed, err)
	}
	if b, ok := c.read("blobs", h, limit); ok {
		return b, nil
	}
	b, err := c.inner.Blob(ctx, ref, limit)
	if err != nil {
		return nil, err
	}
	c.write("blobs", h, b)
	return b, nil
}

// manifestDir is where the manifests a repository served are kept: under a
// hash of its name, since that a repository holds a digest is a fact about
// that repository alone (see manifestKey).
func (c *diskCache) manifestDir(repo name.Repository) string {
	sum := sha256.Sum256([]byte(repo.Name()))
	return filepath.Join("manifests", hex.EncodeToString(sum[:16]))
}

func (c *diskCache) readManifest(repo name.Repository, digest string) (*Manifest, bool) {
	h, err := v1.NewHash(digest)
	if err != nil {
		return nil, false
	}
	b, ok := c.read(c.manifestDir(repo), h, DefaultLimits.Manifest)
	if !ok {
		return nil, false
	}
	return &Manifest{Digest: h, MediaType: sniffMediaType(b), Raw: b}, true
}

func (c *diskCache) path(kind string, h v1.Hash) string {
	return filepath.Join(c.dir, kind, h.Algorithm, h.Hex)
}

// read returns the file for h when it exists, is within limit and matches
// its digest.
func (c *diskCache) read(kind string, h v1.Hash, limit int64) ([]byte, bool) {
	if h.Algorithm != "sha256" {
		return nil, false
	}
	p := c.path(kind, h)
	if fi, err := os.Stat(p); err != nil || fi.Size() > limit {
		return nil, false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != h.Hex {
		os.Remove(p)
		return nil, false
	}
	return b, true
}

// write stores b for h atomically: a temporary file renamed into place.
func (c *diskCache) write(kind string, h v1.Hash, b []byte) {
	if h.Algorithm != "sha256" || !validHex(h.Hex) {
		return
	}
	writeAtomic(c.path(kind, h), b)
}

// writeAtomic writes a file by renaming a temporary one into place.
func writeAtomic(p string, b []byte) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), p) != nil {
		os.Remove(tmp.Name())
	}
}

func validHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && len(s) == 64
}
