package registry

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestRequestEconomy(t *testing.T) {
	w := newWorld(t)
	clock := &fakeClock{now: time.Now()}
	c := w.client(WithMemory(MemoryConfig{Now: clock.Now}))
	chain := w.ref("apps/chain:1")

	w.count.reset()
	if _, err := c.Resolve(ctxT(t), chain); err != nil {
		t.Fatal(err)
	}
	cold, log := w.count.reset()
	t.Logf("cold three-level chain: %d requests: %v", cold, log)
	if cold > 12 {
		t.Errorf("cold three-level chain made %d requests, want at most 12", cold)
	}

	if _, err := c.Resolve(ctxT(t), chain); err != nil {
		t.Fatal(err)
	}
	if n, log := w.count.reset(); n != 0 {
		t.Errorf("warm re-run within the TTL made %d requests, want 0: %v", n, log)
	}

	clock.advance(DefaultTagTTL + time.Second)
	if _, err := c.Resolve(ctxT(t), chain); err != nil {
		t.Fatal(err)
	}
	// The app's tag and the two bases' tags are looked up again; nothing
	// fetched by digest is.
	if n, log := w.count.reset(); n != 3 {
		t.Errorf("after the TTL: %d requests, want 3 (one per tag): %v", n, log)
	}
}

func TestConcurrentCallersShareFetches(t *testing.T) {
	w := newWorld(t)
	images := []string{"apps/ko:1", "apps/buildx1:1", "apps/chain:1", "apps/pack:1"}

	w.count.reset()
	one := w.client()
	for _, img := range images {
		if _, err := one.Resolve(ctxT(t), w.ref(img)); err != nil {
			t.Fatal(err)
		}
	}
	single, slog := w.count.reset()

	many := w.client()
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			if _, err := many.Resolve(ctxT(t), w.ref(images[i%len(images)])); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n, mlog := w.count.reset(); n > single {
		t.Errorf("64 concurrent callers made %d requests; one caller made %d\n%s", n, single, cmp.Diff(sorted(slog), sorted(mlog)))
	}
}

func TestNegativeEntries(t *testing.T) {
	w := newWorld(t)
	w.faults["flaky"] = func(rw http.ResponseWriter, _ *http.Request) { rw.WriteHeader(http.StatusBadGateway) }
	clock := &fakeClock{now: time.Now()}
	c := w.client(WithMemory(MemoryConfig{Now: clock.Now}))
	resolve := func(path string) (int, error) {
		w.count.reset()
		_, err := c.Resolve(ctxT(t), w.ref(path))
		n, _ := w.count.reset()
		return n, err
	}

	if _, err := resolve("apps/missing:1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	if n, err := resolve("apps/missing:1"); n != 0 || !errors.Is(err, ErrNotFound) {
		t.Errorf("404 again: %d requests, err %v; want 0 and ErrNotFound", n, err)
	}
	clock.advance(DefaultNegativeTTL + time.Second)
	if n, _ := resolve("apps/missing:1"); n == 0 {
		t.Error("404 after the negative TTL made no request")
	}

	resolve("flaky/app:1")
	if n, err := resolve("flaky/app:1"); n == 0 || !errors.Is(err, ErrUnavailable) {
		t.Errorf("5xx again: %d requests, err %v; a 5xx must never be remembered", n, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c.Resolve(ctx, w.ref("apps/ko:1"))
	if n, err := resolve("apps/ko:1"); n == 0 || err != nil {
		t.Errorf("after a cancelled resolution: %d requests, err %v; a cancelled fetch must not be remembered", n, err)
	}
}

func TestDiskCacheAndOffline(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	byDigest := w.ref("apps/chain@" + w.d["chain"].String())

	online, err := w.client(WithDiskCache(dir)).Resolve(ctxT(t), byDigest)
	if err != nil {
		t.Fatal(err)
	}
	w.count.reset()
	off, err := w.client(WithDiskCache(dir), WithOffline()).Resolve(ctxT(t), byDigest)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := w.count.reset(); n != 0 {
		t.Errorf("offline made %d requests", n)
	}
	strip := func(r Result) [][]view {
		var out [][]view
		for _, p := range r.Platforms {
			vs := views(p.Lineage)
			for i := range vs {
				vs[i].Current = "" // tags are not on disk: freshness is unknown offline
			}
			out = append(out, vs)
		}
		return out
	}
	if diff := cmp.Diff(strip(online), strip(off)); diff != "" {
		t.Errorf("offline from the disk cache (-online +offline):\n%s", diff)
	}

	_, err = w.client(WithDiskCache(dir), WithOffline()).Resolve(ctxT(t), w.ref("apps/chain:1"))
	if !errors.Is(err, ErrOffline) {
		t.Errorf("offline by tag: err = %v, want ErrOffline", err)
	}
	_, err = w.client(WithOffline()).Resolve(ctxT(t), byDigest)
	if !errors.Is(err, ErrOffline) {
		t.Errorf("offline without a cache: err = %v, want ErrOffline", err)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestDiskCacheKeepsTags: a later CLI run (a new Client on the same cache
// directory) within the tag TTL makes no request, and resolves tags offline;
// once the tag resolution is older than the TTL it is asked again.
func TestDiskCacheKeepsTags(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	chain := w.ref("apps/chain:1")
	run := func(opts ...Option) (int, error) {
		w.count.reset()
		_, err := w.client(append(opts, WithDiskCache(dir))...).Resolve(ctxT(t), chain)
		_, log := w.count.reset()
		n := 0
		for _, req := range log {
			if req != "GET /v2/" { // a new process pings each registry once
				n++
			}
		}
		return n, err
	}
	if n, err := run(); err != nil || n == 0 {
		t.Fatalf("cold run: %d requests, %v", n, err)
	}
	if n, err := run(); err != nil || n != 0 {
		t.Errorf("second run within the TTL: %d requests, %v; want 0", n, err)
	}
	if n, err := run(WithOffline()); err != nil || n != 0 {
		t.Errorf("offline run by tag within the TTL: %d requests, %v; want 0 and no error", n, err)
	}
	old := time.Now().Add(-DefaultTagTTL - time.Minute)
	tags, _ := filepath.Glob(filepath.Join(dir, "tags", "*"))
	for _, p := range tags {
		os.Chtimes(p, old, old)
	}
	if n, err := run(); err != nil || n != 3 {
		t.Errorf("run after the TTL: %d requests besides pings, %v; want 3 (one per tag)", n, err)
	}
}
