package html

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/audit"
	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
)

const hostile = `<script>alert(1)</script>`

// hostileAudit has a workload, namespace, container and image whose names
// are markup.
func hostileAudit(t *testing.T) *audit.Audit {
	t.Helper()
	ps, err := policy.Load(policy.File{Name: "p", Data: []byte("apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata: {name: p}\nspec:\n  rules:\n    - {name: approved, allow: [\"registry.example.com/base/*\"]}\n")})
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.NewSet(ps)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := imageref.Parse("registry.example.com/x/y:1")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := imageref.Parse("docker.io/library/centos:7")
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	res := &subject.Resource{APIVersion: "v1", Kind: "Pod", Namespace: "ns" + hostile, Name: "web" + hostile}
	it := &audit.Item{
		Subject:    subject.Subject{Resource: res, Container: "c" + hostile, List: subject.Containers, Field: "spec.containers[0].image", Image: `x"><img src=x onerror=alert(2)>`},
		Containers: 1,
		Lineage:    lineage.Lineage{Resolved: true, Entries: []lineage.Entry{{Ref: ref, Source: lineage.SourceReference}, {Ref: base, Source: lineage.SourceAnnotation, Verified: true, Created: now.Add(-400 * 24 * time.Hour)}}},
	}
	it.Results = set.Evaluate(&it.Subject, it.Lineage, now)
	return &audit.Audit{Time: now, Policies: set, Workloads: []*audit.Workload{{Resource: res, Pods: 1, Items: []*audit.Item{it}}}}
}

func TestNamesAreNeverMarkup(t *testing.T) {
	a := hostileAudit(t)
	var buf bytes.Buffer
	if err := Write(&buf, a, nil); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, raw := range []string{hostile, "<img src=x", "alert(2)>"} {
		if strings.Contains(out, raw) {
			t.Errorf("the report carries %q unescaped", raw)
		}
	}
	if !strings.Contains(out, "web&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the workload's name is not in the report, escaped")
	}
	if strings.Count(out, "<script>") != 1 {
		t.Errorf("want exactly the report's own script, found %d", strings.Count(out, "<script>"))
	}
}

func TestSelfContained(t *testing.T) {
	var buf bytes.Buffer
	h := []audit.HistoryEntry{{Time: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), Compliance: 0.5, MeanBaseAge: 40}, {Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Compliance: 0.75, MeanBaseAge: 20}}
	if err := Write(&buf, hostileAudit(t), h); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, ref := range []string{"src=\"http", "href=\"http", "url(http", "@import", "src=\"//"} {
		if strings.Contains(out, ref) {
			t.Errorf("the report fetches something at view time: %q", ref)
		}
	}
	for _, id := range []string{`id="namespace-chart"`, `id="age-chart"`, `id="trend-chart"`, `id="findings-table"`, "50.0% → 75.0%"} {
		if !strings.Contains(out, id) {
			t.Errorf("the report lacks %s", id)
		}
	}
}
