package audit

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/subject"
)

// TestChartRBACListsEveryWorkload keeps the chart's audit ClusterRole in
// step with the workload kinds the audit lists: a kind it may not list
// leaves its pods attributed to the objects below it.
func TestChartRBACListsEveryWorkload(t *testing.T) {
	data, err := os.ReadFile("../charts/baseguard/templates/audit-rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rule := regexp.MustCompile(`apiGroups: \[(.*)\]\n\s+resources: \[(.*)\]\n\s+verbs: \[(.*)\]`)
	granted := map[string]bool{}
	for _, m := range rule.FindAllStringSubmatch(string(data), -1) {
		if !slices.Contains(strings.Split(m[3], ", "), "list") {
			continue
		}
		group := strings.Trim(m[1], `"`)
		for _, r := range strings.Split(m[2], ", ") {
			granted[group+"/"+r] = true
		}
	}
	for _, w := range subject.Workloads {
		legacy := w.Group == "extensions" || (w.Group == "" && w.Kind == "DeploymentConfig")
		if len(w.TemplatePath) == 0 || w.Kind == "PodTemplate" || legacy {
			continue // pods are listed apart; PodTemplates run nothing; APIs no cluster of today serves
		}
		if !granted[w.Group+"/"+w.Resource] {
			t.Errorf("the chart's audit ClusterRole does not list %s (%s)", w.Resource, w)
		}
	}
	if !granted["/pods"] || !granted["/serviceaccounts"] {
		t.Error("the chart's audit ClusterRole does not list pods and service accounts")
	}
}
