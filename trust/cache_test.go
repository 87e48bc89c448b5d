package trust_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/trust"
)

// clock is a settable clock for caches.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestMissingSignatureRechecked: facts are cached, a missing signature only
// for the short TTL: a signature pushed after a denial is seen soon, and
// warm checks of a signed image ask the registry nothing.
func TestMissingSignatureRechecked(t *testing.T) {
	for _, layout := range layouts {
		t.Run(layout.name, func(t *testing.T) {
			w := newWorld(t, layout.referrersAPI)
			k := newKey(t, "ecdsa")
			set := signedByPolicy(t, "", k)
			clk := &clock{t: now}
			r := w.resolverWith([]registry.Option{registry.WithMemory(registry.MemoryConfig{Now: clk.now})}, trust.WithClock(clk.now), trust.ForPolicies(set))
			d := w.pushImage("base/later:1")

			expect(t, judge(t, set, w.lineage(r, "base/later:1")), policy.StatusFail, "no signature found")
			layout.sign(w, "base/later", d, k)
			w.requests.Store(0)
			expect(t, judge(t, set, w.lineage(r, "base/later:1")), policy.StatusFail, "no signature found")
			if n := w.requests.Load(); n != 0 {
				t.Errorf("a check within the missing TTL made %d requests, want 0", n)
			}

			clk.add(trust.DefaultMissingTTL + time.Second)
			expect(t, judge(t, set, w.lineage(r, "base/later:1")), policy.StatusPass, "is signed by")

			clk.add(time.Minute)
			w.requests.Store(0)
			expect(t, judge(t, set, w.lineage(r, "base/later:1")), policy.StatusPass, "is signed by")
			if n := w.requests.Load(); n != 0 {
				t.Errorf("a warm check of a signed image made %d requests, want 0", n)
			}
		})
	}
}

// TestRegistryFailure: a registry that fails while signatures are looked
// for is the policy's onResolveError case, never a pass, and not cached.
func TestRegistryFailure(t *testing.T) {
	w := newWorld(t, false)
	k := newKey(t, "ecdsa")
	set := signedByPolicy(t, "", k)
	d := w.pushImage("base/flaky:1")
	w.signTag("base/flaky", d, simpleSigning(w.host+"/base/flaky", d), k.sign(t, simpleSigning(w.host+"/base/flaky", d)))
	failSig := func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, ".sig") }
	w.fail.Store(&failSig)
	r := w.resolver()
	res := judge(t, set, w.lineage(r, "base/flaky:1"))
	expect(t, res, policy.StatusError, "looking for the signatures of", "onResolveError: deny")

	w.fail.Store(nil)
	expect(t, judge(t, set, w.lineage(r, "base/flaky:1")), policy.StatusPass, "is signed by")
}
