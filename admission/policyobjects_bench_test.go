package admission

import (
	"fmt"
	"log/slog"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// BenchmarkPolicyObjectChange measures what one changed policy object
// costs the server: loading the object, composing the set in force from
// every object's policy, and deciding its status.
//
//	go test ./admission -run XXX -bench PolicyObjectChange -benchmem
func BenchmarkPolicyObjectChange(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			c := &ClusterPolicies{entries: map[objectKey]*objectEntry{}, log: slog.New(slog.DiscardHandler)}
			for i := range n {
				key := objectKey{resource: "baseimagepolicies", name: fmt.Sprintf("p%d", i)}
				c.entries[key] = readPolicyObject(nil, key, bip(b, key.name, types.UID(key.name), 1, goodSpec, ""), nil)
			}
			s, err := newPolicyStore(nil, nil, c)
			if err != nil {
				b.Fatal(err)
			}
			key := objectKey{resource: "baseimagepolicies", name: "p0"}
			u := bip(b, "p0", "p0", 2, goodSpec, "")
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				u.SetGeneration(int64(i + 2))
				c.update(key, u)
				if err := s.compose(); err != nil {
					b.Fatal(err)
				}
				c.mu.Lock()
				objectStatus(currentStatus(u), c.entries[key], c.conflicts[key])
				c.mu.Unlock()
			}
		})
	}
}
