package registry

import (
	"context"
	"strings"
	"testing"
)

// TestDigestPresenceIsPerRepository: a base claimed as
// approved-repo@digest, where the digest was only ever served by another
// repository, is not found in the approved repository, however the caches
// were warmed: a digest read from one repository proves nothing about
// another.
func TestDigestPresenceIsPerRepository(t *testing.T) {
	for _, disk := range []bool{false, true} {
		t.Run(map[bool]string{false: "memory", true: "disk"}[disk], func(t *testing.T) {
			tr := newTestRegistry(t)
			approved := baseImage(t, 2, "linux/amd64")
			tr.push("base/alpine:3.19", approved)
			evil := baseImage(t, 2, "linux/amd64")
			evilD := tr.push("attacker/evil:1", evil)
			app := annotate(childOf(t, evil, 1), baseAnns(tr.name("base/alpine:3.19"), evilD))
			tr.push("attacker/app:1", app)
			var opts []Option
			if disk {
				opts = append(opts, WithDiskCache(t.TempDir()))
			}
			c := tr.client(opts...)
			// Warm the caches with the evil base from its own repository.
			if l := c.Lineage(context.Background(), tr.ref("attacker/evil:1")); l.Err != nil {
				t.Fatal(l.Err)
			}
			for run := 0; run < 2; run++ {
				if disk && run == 1 {
					c = tr.client(opts...) // a later CLI run: only the disk cache is warm
				}
				l := c.Lineage(context.Background(), tr.ref("attacker/app:1"))
				for _, e := range l.Bases() {
					if e.Verified && strings.Contains(e.Ref.Name(), "base/alpine") {
						t.Fatalf("run %d: base %s@%s verified in the approved repository, where that digest never was", run, e.Ref.Canonical(), e.Digest)
					}
				}
			}
		})
	}
}
