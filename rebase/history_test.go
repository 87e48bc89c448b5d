package rebase

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestRebaseHistoryShapes: mutate.Rebase counts history entries to find
// the layers to keep; images whose history does not describe every layer
// (or an old base without history) keep exactly their own layers, and the
// result's history describes each layer once.
func TestRebaseHistoryShapes(t *testing.T) {
	tests := []struct {
		name                   string
		oldHistory, appHistory bool
	}{
		{"both with history", true, true},
		{"image without history", true, false},
		{"old base without history", false, true},
		{"neither with history", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newTestRegistry(t)
			old := randomBase(t, "linux/amd64", 2)
			if !tt.oldHistory {
				old = withoutHistory(t, old)
			}
			reg.push(t, "base/os:1", old)
			app := appOn(t, old, reg.ref("base/os:1"), 3)
			if !tt.appHistory {
				app = withoutHistory(t, app)
			}
			reg.push(t, "apps/a:1", app)
			newBase := randomBase(t, "linux/amd64", 4)
			reg.push(t, "base/os:1", newBase)
			res, err := newRebaser(t, "").Rebase(ctx(t), Request{Image: reg.ref("apps/a:1")})
			if err != nil {
				t.Fatal(err)
			}
			got := remoteImage(t, reg.ref("apps/a:1@"+res.Digest))
			want := append(layerDigests(t, newBase), layerDigests(t, app)[2:]...)
			if diff := cmp.Diff(want, layerDigests(t, got)); diff != "" {
				t.Errorf("layers (-want +got):\n%s", diff)
			}
			cf := must(got.ConfigFile())
			if n := nonEmpty(cf.History); n != len(want) {
				t.Errorf("history describes %d layers, the image has %d", n, len(want))
			}
			if tt.appHistory && cf.History[len(cf.History)-1].CreatedBy != "ENTRYPOINT" {
				t.Errorf("the image's last history entry was lost: %+v", cf.History)
			}
		})
	}
}

func withoutHistory(t *testing.T, img v1.Image) v1.Image {
	t.Helper()
	cf := must(img.ConfigFile()).DeepCopy()
	cf.History = nil
	return must(mutateConfig(img, cf))
}
