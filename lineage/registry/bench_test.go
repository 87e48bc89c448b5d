package registry

import (
	"fmt"

	"github.com/baseguard/baseguard/imageref"
	"slices"
	"testing"
	"time"
)

// BenchmarkResolve resolves 1,000 lookups of 50 unique images (a three
// level chain each, all on one upstream) on a loopback registry, cold (a
// new client per iteration) and warm (one client, caches filled). It
// reports requests per iteration (1,000 lookups), the wall time of an
// iteration (ns/op), and the mean, p50 and p99 latency of one lookup.
//
//	go test ./lineage/registry -run '^$' -bench Resolve -benchtime 5x
func BenchmarkResolve(b *testing.B) {
	tr := newTestRegistry(b)
	refs := benchImages(tr)
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			warm := tr.client()
			if mode == "warm" {
				resolveAll(b, warm, refs, 50)
			}
			tr.count.reset()
			var lat []time.Duration
			for b.Loop() {
				c := warm
				if mode == "cold" {
					c = tr.client()
				}
				lat = append(lat, resolveAll(b, c, refs, 1000)...)
			}
			n, _ := tr.count.reset()
			slices.Sort(lat)
			b.ReportMetric(float64(n)/float64(b.N), "requests/op")
			var sum time.Duration
			for _, l := range lat {
				sum += l
			}
			b.ReportMetric(float64(sum.Microseconds())/float64(len(lat)), "mean-µs/lookup")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs/lookup")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs/lookup")
		})
	}
}

// resolveAll makes n lookups round-robin over refs and returns each
// lookup's latency.
func resolveAll(b *testing.B, c *Client, refs []string, n int) []time.Duration {
	lat := make([]time.Duration, 0, n)
	for i := range n {
		ref, err := imageref.Parse(refs[i%len(refs)])
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		l := c.Lineage(b.Context(), ref)
		lat = append(lat, time.Since(start))
		if l.Err != nil || len(l.Entries) != 3 {
			b.Fatalf("%s: %d entries, err %v", ref, len(l.Entries), l.Err)
		}
	}
	return lat
}

// benchImages pushes 50 apps, each on its own company base, all on one
// upstream.
func benchImages(tr *testRegistry) []string {
	t := tr.t
	up := baseImage(t, 3, "linux/amd64")
	upD := tr.push("upstream/alpine:3", up)
	var refs []string
	for i := range 50 {
		base := annotate(childOf(t, up, 1), baseAnns(tr.name("upstream/alpine:3"), upD))
		baseD := tr.push(fmt.Sprintf("company/base%d:1", i), base)
		app := annotate(childOf(t, base, 2), baseAnns(tr.name(fmt.Sprintf("company/base%d:1", i)), baseD))
		tr.push(fmt.Sprintf("apps/app%d:1", i), app)
		refs = append(refs, tr.name(fmt.Sprintf("apps/app%d:1", i)))
	}
	return refs
}
