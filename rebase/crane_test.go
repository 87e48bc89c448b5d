package rebase

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	cranecmd "github.com/google/go-containerregistry/cmd/crane/cmd"
	"github.com/google/go-containerregistry/pkg/crane"
)

// TestRebaseMatchesCrane rebases the same single-platform images with
// `crane rebase` (go-containerregistry's own command, run in process, from
// the base annotations as it reads them) and with Rebaser: the same
// layers, the same base annotations, the same runtime config and history.
func TestRebaseMatchesCrane(t *testing.T) {
	tests := []struct {
		name            string
		baseLayers, app int
		newLayers       int
		platform        string
	}{
		{"small", 1, 1, 1, "linux/amd64"},
		{"typical", 3, 5, 4, "linux/amd64"},
		{"arm", 2, 2, 3, "linux/arm64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newTestRegistry(t)
			old := randomBase(t, tt.platform, tt.baseLayers)
			reg.push(t, "base/os:1", old)
			reg.push(t, "apps/a:1", appOn(t, old, reg.ref("base/os:1"), tt.app))
			newBase := randomBase(t, tt.platform, tt.newLayers)
			reg.push(t, "base/os:1", newBase)

			runCrane(t, "rebase", reg.ref("apps/a:1"), "--tag", reg.ref("apps/a:crane"))
			if _, err := newRebaser(t, "").Rebase(ctx(t), Request{Image: reg.ref("apps/a:1"), Tag: "ours"}); err != nil {
				t.Fatal(err)
			}
			theirs, ours := remoteImage(t, reg.ref("apps/a:crane")), remoteImage(t, reg.ref("apps/a:ours"))
			if diff := cmp.Diff(layerDigests(t, theirs), layerDigests(t, ours)); diff != "" {
				t.Errorf("layers (-crane +baseguard):\n%s", diff)
			}
			ta, oa := must(theirs.Manifest()).Annotations, must(ours.Manifest()).Annotations
			for _, k := range []string{annotationBaseName, annotationBaseDigest} {
				if ta[k] != oa[k] || oa[k] == "" {
					t.Errorf("%s: crane %q, baseguard %q", k, ta[k], oa[k])
				}
			}
			tc, oc := must(theirs.ConfigFile()), must(ours.ConfigFile())
			if diff := cmp.Diff(tc.Config, oc.Config); diff != "" {
				t.Errorf("config (-crane +baseguard):\n%s", diff)
			}
			if diff := cmp.Diff(tc.History, oc.History); diff != "" {
				t.Errorf("history (-crane +baseguard):\n%s", diff)
			}
			if diff := cmp.Diff(tc.RootFS, oc.RootFS); diff != "" {
				t.Errorf("rootfs (-crane +baseguard):\n%s", diff)
			}
		})
	}
}

// runCrane runs crane's own command line in process.
func runCrane(t *testing.T, args ...string) string {
	t.Helper()
	cmd := cranecmd.New("crane", "crane", []crane.Option{})
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("crane %v: %v\n%s", args, err, errOut.String())
	}
	return out.String()
}
