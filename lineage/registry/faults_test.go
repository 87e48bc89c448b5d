package registry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestResolveFaults(t *testing.T) {
	w := newWorld(t)
	w.faults["private"] = func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusUnauthorized)
		rw.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
	}
	w.faults["flaky"] = func(rw http.ResponseWriter, _ *http.Request) {
		rw.WriteHeader(http.StatusInternalServerError)
	}
	w.faults["slow"] = func(rw http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		rw.WriteHeader(http.StatusServiceUnavailable)
	}
	w.putRaw("/v2/bad/manifest/manifests/1", string(types.OCIManifestSchema1), []byte(`{"schemaVersion": 2, "config": {`))
	w.push("bad/config:1", rawConfigImage{Image: baseImage(t, 1, "linux/amd64"), raw: []byte(`{"rootfs": [`)})
	big := `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"padding":"` + strings.Repeat("x", 64<<10) + `"}`
	w.push("big/config:1", rawConfigImage{Image: baseImage(t, 1, "linux/amd64"), raw: []byte(big)})
	manyAnns := map[string]string{}
	for i := range 200 {
		manyAnns[strings.Repeat("k", 20)+string(rune('a'+i%26))+strings.Repeat("v", i)] = strings.Repeat("v", 40)
	}
	w.push("big/manifest:1", annotate(baseImage(t, 1, "linux/amd64"), manyAnns))
	small := Limits{Manifest: 16 << 10, Config: 16 << 10, Attestation: 16 << 10}

	tests := []struct {
		name    string
		image   string
		timeout time.Duration
		limits  Limits
		is      error
		msg     string
	}{
		{name: "401", image: "private/app:1", is: ErrUnauthorized, msg: "unauthorized"},
		{name: "404", image: "apps/missing:1", is: ErrNotFound, msg: "not found"},
		{name: "500 after retries", image: "flaky/app:1", is: ErrUnavailable, msg: "registry unavailable"},
		{name: "slower than the deadline", image: "slow/app:1", timeout: 300 * time.Millisecond, is: context.DeadlineExceeded, msg: "did not answer before the deadline"},
		{name: "malformed manifest", image: "bad/manifest:1", is: ErrMalformed, msg: "parsing manifest"},
		{name: "malformed config", image: "bad/config:1", is: ErrMalformed, msg: "parsing config"},
		{name: "oversized config", image: "big/config:1", limits: small, is: ErrTooLarge, msg: "more than the limit of 16384"},
		{name: "oversized manifest", image: "big/manifest:1", limits: small, is: ErrTooLarge, msg: "limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			var opts []Option
			if tc.limits != (Limits{}) {
				opts = append(opts, WithLimits(tc.limits))
			}
			w.count.reset()
			start := time.Now()
			_, err := w.client(opts...).Resolve(ctx, w.ref(tc.image))
			elapsed := time.Since(start)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), tc.image) {
				t.Errorf("err = %q, want it to name %q and say %q", err, tc.image, tc.msg)
			}
			if tc.timeout > 0 && elapsed > tc.timeout+time.Second {
				t.Errorf("returned after %v, deadline %v", elapsed, tc.timeout)
			}
		})
	}
	t.Run("500 is tried again", func(t *testing.T) {
		w.count.reset()
		w.client().Resolve(ctxT(t), w.ref("flaky/app:1"))
		_, log := w.count.reset()
		if n := countOf(log, "GET /v2/flaky/app/manifests/1"); n < 3 {
			t.Errorf("GET manifest tried %d times, want 3: %v", n, log)
		}
	})
}

func countOf(log []string, s string) int {
	n := 0
	for _, l := range log {
		if l == s {
			n++
		}
	}
	return n
}

// A base that cannot be fetched is a problem of its entry, not a failure of
// the image.
func TestResolveMissingBase(t *testing.T) {
	w := newWorld(t)
	app := annotate(childOf(t, baseImage(t, 1, "linux/amd64"), 1), map[string]string{annotationBaseName: w.name("gone/base:1")})
	w.push("apps/orphan:1", app)
	res, err := w.client().Resolve(ctxT(t), w.ref("apps/orphan:1"))
	if err != nil {
		t.Fatal(err)
	}
	l := res.Platforms[0].Lineage
	if l.Err != nil || len(l.Entries) != 2 || l.Entries[1].Verified {
		t.Fatalf("lineage %+v, want an unverified base without Err", l)
	}
	if ps := strings.Join(l.Entries[1].Problems, ";"); !strings.Contains(ps, "could not be checked") || !strings.Contains(ps, "not found") {
		t.Errorf("problems %q, want why the base could not be checked", ps)
	}
}

// Cancelling the context stops a resolution waiting on a slow registry.
func TestResolveCancel(t *testing.T) {
	w := newTestRegistry(t)
	w.faults["slow"] = func(rw http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := w.client().Resolve(ctx, w.ref("slow/app:1"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %v", d)
	}
}
