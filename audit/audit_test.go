package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
	"github.com/google/go-cmp/cmp"
)

var testTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

const testPolicy = `apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: p}
spec:
  rules:
    - name: approved
      allow: ["registry.example.com/base/*"]
    - name: no-centos
      deny: ["*centos*"]
  exceptions:
    - {name: old, namespaces: [legacy], rules: [no-centos, approved], expires: "2026-11-15", reason: r}
`

func testSet(t *testing.T) *policy.Set {
	t.Helper()
	ps, err := policy.Load(policy.File{Name: "p.yaml", Data: []byte(testPolicy)})
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.NewSet(ps)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// chain is a resolved lineage: image, then its base created at created
// (zero: unknown), current or not.
func chain(t *testing.T, image, base string, created time.Time, current *bool) lineage.Lineage {
	t.Helper()
	ref, err := imageref.Parse(image)
	if err != nil {
		t.Fatal(err)
	}
	l := lineage.Lineage{Resolved: true, Entries: []lineage.Entry{{Ref: ref, Digest: "sha256:" + strings.Repeat("a", 64), Source: lineage.SourceReference}}}
	if base != "" {
		b, err := imageref.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		l.Entries = append(l.Entries, lineage.Entry{Ref: b, Digest: "sha256:" + strings.Repeat("b", 64), Source: lineage.SourceAnnotation, Verified: true, Created: created, Current: current})
	}
	return l
}

// workload makes a judged workload of pods pods, one item per image, each
// run by one container per pod.
func workload(t *testing.T, set *policy.Set, ns, kind, name string, pods int, ls ...lineage.Lineage) *Workload {
	t.Helper()
	w := &Workload{Resource: &subject.Resource{APIVersion: "apps/v1", Kind: kind, Namespace: ns, Name: name}, Pods: pods, UID: name}
	for i, l := range ls {
		it := &Item{Subject: subject.Subject{Resource: w.Resource, Container: "c", List: subject.Containers, Field: "spec.containers[" + string(rune('0'+i)) + "].image", Image: l.Entries[0].Ref.Written}, Containers: pods, Lineage: l}
		it.Results = set.Evaluate(&it.Subject, it.Lineage, testTime)
		w.Items = append(w.Items, it)
	}
	return w
}

func testAudit(t *testing.T) *Audit {
	set := testSet(t)
	yes, no := new(true), new(false)
	made := time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC)
	return &Audit{Time: testTime, Policies: set, Workloads: []*Workload{
		workload(t, set, "legacy", "Deployment", "old", 2, chain(t, "registry.example.com/app/old:1", "centos:7", time.Time{}, nil)),
		workload(t, set, "web", "Deployment", "front", 3, chain(t, "registry.example.com/app/front:1", "registry.example.com/base/alpine:3.19", made, yes)),
		workload(t, set, "web", "StatefulSet", "db", 1,
			chain(t, "registry.example.com/app/db:1", "registry.example.com/base/alpine:3.19", made, yes),
			chain(t, "registry.example.com/app/side:1", "", time.Time{}, nil)),
		workload(t, set, "web", "CronJob", "idle", 0, chain(t, "registry.example.com/app/job:1", "registry.example.com/base/alpine:3.18", made, no)),
	}}
}

func TestInventory(t *testing.T) {
	a := testAudit(t)
	inv := a.Inventory()
	got := []int{inv.Containers, inv.Compliant, inv.Workloads, inv.CompliantWorkloads, inv.UnknownBase}
	// legacy/old: 2 containers, excepted (compliant); web/front 3; db 1+1,
	// the sidecar has no base (fails approved); idle has no pods (its
	// template passes).
	if d := cmp.Diff([]int{7, 6, 4, 3, 1}, got); d != "" {
		t.Errorf("containers, compliant, workloads, compliant workloads, unknown base (-want +got):\n%s", d)
	}
	if inv.Compliance != 0.8571 {
		t.Errorf("compliance %v", inv.Compliance)
	}
	if d := cmp.Diff([]NamespaceStat{{Name: "legacy", Containers: 2, Compliant: 2, Compliance: 1, Workloads: 1, CompliantWorkloads: 1}, {Name: "web", Containers: 5, Compliant: 4, Compliance: 0.8, Workloads: 3, CompliantWorkloads: 2}}, inv.Namespaces); d != "" {
		t.Errorf("namespaces (-want +got):\n%s", d)
	}
	var refs []string
	total := inv.UnknownBase
	for _, b := range inv.Bases {
		refs = append(refs, b.Ref)
		total += b.Containers
	}
	if d := cmp.Diff([]string{"registry.example.com/base/alpine:3.19", "docker.io/library/centos:7"}, refs); d != "" {
		t.Errorf("bases (-want +got):\n%s", d)
	}
	if total != inv.Containers {
		t.Errorf("bases and unknownBase add up to %d, containers %d", total, inv.Containers)
	}
	if d := inv.Bases[1].DeniedBy; len(d) != 1 || d[0] != "p/no-centos" {
		t.Errorf("centos denied by %v", d)
	}
	if e := inv.Exceptions; len(e) != 1 || e[0].Uses != 2 || e[0].Expired {
		t.Errorf("exceptions %+v", e)
	}
}

func TestWithBase(t *testing.T) {
	a := testAudit(t)
	for pattern, want := range map[string]int{"*centos*": 1, "registry.example.com/base/alpine:*": 3, "*/app/side:1": 1, "nothing": 0} {
		if got := len(a.WithBase(imageref.MustCompilePattern(pattern)).Workloads); got != want {
			t.Errorf("--base %s: %d workloads, want %d", pattern, got, want)
		}
	}
}

// TestJSONContract checks the shape scripts read: check's results with
// the workload's pods inside resource, summary, inventory.
func TestJSONContract(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, testAudit(t)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results   []map[string]any
		Summary   map[string]int
		Inventory map[string]any
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	res := doc.Results[0]["resource"].(map[string]any)
	if d := cmp.Diff(map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "legacy", "name": "old", "file": "", "pods": 2.0}, res); d != "" {
		t.Errorf("resource (-want +got):\n%s", d)
	}
	for _, k := range []string{"policy", "rule", "result", "message", "action", "container", "image", "lineage"} {
		if _, ok := doc.Results[0][k]; !ok {
			t.Errorf("a result lacks %q", k)
		}
	}
	if len(doc.Summary) != 5 {
		t.Errorf("summary %v", doc.Summary)
	}
	for _, k := range []string{"containers", "compliant", "compliance", "workloads", "compliantWorkloads", "unknownBase", "namespaces", "bases", "exceptions"} {
		if _, ok := doc.Inventory[k]; !ok {
			t.Errorf("inventory lacks %q", k)
		}
	}
	b := doc.Inventory["bases"].([]any)[1].(map[string]any)
	if b["current"] != nil || b["created"] != nil {
		t.Errorf("unknown current and created are not null: %v", b)
	}
}

func TestTextEscapes(t *testing.T) {
	a := testAudit(t)
	a.Workloads[0].Resource.Namespace = "legacy\x1b[2J"
	var buf bytes.Buffer
	if err := WriteText(&buf, a, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "\x1b") {
		t.Errorf("an escape sequence reached the terminal:\n%q", buf.String())
	}
}
