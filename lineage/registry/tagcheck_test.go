package registry

import (
	"context"
	"net/http"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// TestTagBesideDigest: for repo:tag@digest the digest runs; the tag counts
// only when the registry confirms it names that digest, or an index that
// lists it. Otherwise the image's entry is the digest alone, and says why.
func TestTagBesideDigest(t *testing.T) {
	tr := newTestRegistry(t)
	good, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	evil, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	goodD := tr.push("apps/payments:1.4", good)
	evilD := tr.push("apps/payments:evil", evil)
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: good, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	idxD := tr.push("apps/multi:2.0", idx)
	tr.push("apps/multi-image:2.0", good)

	tests := []struct {
		name      string
		ref       string
		confirmed bool
		judgedAs  string // the entry's canonical reference, host left out
		problem   string
	}{
		{"tag names the digest", "apps/payments:1.4@" + goodD.String(), true, "apps/payments:1.4@" + goodD.String(), ""},
		{"tag names another digest", "apps/payments:1.4@" + evilD.String(), false, "apps/payments@" + evilD.String(), "tag 1.4 names " + goodD.String()},
		{"tag does not exist", "apps/payments:1.9@" + goodD.String(), false, "apps/payments@" + goodD.String(), "tag 1.9 does not exist"},
		{"tag names an index listing the digest", "apps/multi:2.0@" + goodD.String(), false, "", ""},
		{"tag names the index itself", "apps/multi:2.0@" + idxD.String(), true, "apps/multi:2.0@" + idxD.String(), ""},
	}
	// The good image is in apps/multi only as the index's child.
	tests[3].confirmed, tests[3].judgedAs = true, "apps/multi:2.0@"+goodD.String()
	c := tr.client()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := c.Lineage(context.Background(), tr.ref(tt.ref))
			if l.Err != nil {
				t.Fatalf("resolving: %v", l.Err)
			}
			e := l.Entries[0]
			if e.TagVerified == nil || *e.TagVerified != tt.confirmed {
				t.Fatalf("TagVerified = %v, want %v", e.TagVerified, tt.confirmed)
			}
			if got := strings.TrimPrefix(e.Ref.Canonical(), tr.host+"/"); got != tt.judgedAs {
				t.Errorf("judged as %s, want %s", got, tt.judgedAs)
			}
			if tt.confirmed != (e.AsWritten == nil) {
				t.Errorf("AsWritten = %v with confirmed %v", e.AsWritten, tt.confirmed)
			}
			if tt.problem != "" && !strings.Contains(strings.Join(e.Problems, "\n"), tt.problem) {
				t.Errorf("problems %q do not say %q", e.Problems, tt.problem)
			}
		})
	}
	t.Run("no tag and digest, no claim", func(t *testing.T) {
		for _, ref := range []string{"apps/payments:1.4", "apps/payments@" + goodD.String()} {
			if e := c.Lineage(context.Background(), tr.ref(ref)).Entries[0]; e.TagVerified != nil || e.AsWritten != nil {
				t.Errorf("%s: TagVerified %v, AsWritten %v, want neither", ref, e.TagVerified, e.AsWritten)
			}
		}
	})
	t.Run("unreachable registry leaves the tag unconfirmed", func(t *testing.T) {
		tr.faults["apps/down"] = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }
		l := c.Lineage(context.Background(), tr.ref("apps/down:1@"+goodD.String()))
		if l.Err == nil {
			t.Fatal("no error from an unreachable registry")
		}
		e := l.Entries[0]
		if e.TagVerified == nil || *e.TagVerified || e.AsWritten == nil || e.Ref.Tag != "" {
			t.Errorf("entry %s TagVerified %v: want the digest alone, tag unconfirmed", e.Ref.Canonical(), e.TagVerified)
		}
	})
}
