package audit

import (
	"strings"
	"testing"
)

// TestAuditText reads the text report as a person would: the headline,
// the namespace table, the bases, denied and stale bases with where they
// run and the fix; no colour when piped.
func TestAuditText(t *testing.T) {
	requireEnv(t)
	stdout, stderr, code := runAudit(t)
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	if code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	for _, want := range []string{
		"80.0% compliant: 12 of 15 containers, 5 of 9 workloads (all namespaces, 2026-11-01T00:00:00Z)",
		"legacy     66.7%",
		"Denied bases still running",
		world.pub.ref("library/centos:7") + "  2 containers, denied by bases/deprecated-bases",
		"in DaemonSet/legacy/agent",
		"Stale bases",
		"fix: rebuild, or move the image onto the current base: baseguard rebase " + world.pub.ref("team/report:1"),
		"Deployment/shop/idle",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(stdout, "\x1b[") || strings.Contains(stderr, "\x1b[") {
		t.Error("colour or a progress bar was written to a pipe")
	}
}
