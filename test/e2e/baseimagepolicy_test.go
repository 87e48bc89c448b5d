package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/policy/crd"
)

const retireAlpine = `apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata:
  name: e2e-objects
spec:
  match:
    namespaces: {include: [e2e-objects]}
  rules:
    - name: retire-alpine
      message: this alpine is retired here
      deny: ["registry.example.com/base/alpine:3.19"]
`

// TestBaseImagePolicyObjects follows one BaseImagePolicy through its life
// with the real kubectl: applied, listed, described, updated badly (the
// last good version stays in force, across a restart), updated well,
// deleted; each change decides admission within seconds.
func TestBaseImagePolicyObjects(t *testing.T) {
	requireEnv(t)
	ns := namespace(t, "e2e-objects", nil)
	bips := crd.BaseImagePolicies
	t.Cleanup(func() { deleteObject(t, bips, "e2e-objects") })
	decides(t, ns, approved, false)

	t.Run("kubectl apply puts it in force within seconds", func(t *testing.T) {
		stdout, stderr, err := apply(t, "base-image-policy.yaml", retireAlpine)
		if err != nil {
			t.Fatalf("kubectl apply: %v\n%s", err, stderr)
		}
		mustContain(t, "kubectl apply", stdout, "baseimagepolicy.baseguard.dev/e2e-objects created")
		took := decides(t, ns, approved, true, "retire-alpine", "this alpine is retired here")
		t.Logf("a pod of %s is denied %s after kubectl apply", approved, took)
		waitReady(t, bips, "e2e-objects", "True", "generation 1 is in force: 1 rule")
	})

	t.Run("kubectl get shows action, rules, ready and age", func(t *testing.T) {
		for _, args := range [][]string{{"get", "baseimagepolicies"}, {"get", "bip", "e2e-objects"}} {
			stdout, stderr, err := kubectl(t, args...)
			if err != nil {
				t.Fatalf("kubectl %v: %v\n%s", args, err, stderr)
			}
			t.Logf("kubectl %s:\n%s", strings.Join(args, " "), stdout)
			header, row := tableRow(stdout, "e2e-objects")
			mustContain(t, "the header", strings.Join(header, " "), "NAME ACTION RULES READY AGE")
			if len(row) < 5 || row[1] != "enforce" || row[2] != "1" || row[3] != "True" {
				t.Errorf("row: %q", row)
			}
		}
		stdout, _, _ := kubectl(t, "get", "bip", "e2e-objects", "-o", "wide")
		mustContain(t, "kubectl get -o wide", stdout, "MESSAGE", "generation 1 is in force: 1 rule")
	})

	t.Run("kubectl describe shows the condition", func(t *testing.T) {
		stdout, stderr, err := kubectl(t, "describe", "baseimagepolicy", "e2e-objects")
		if err != nil {
			t.Fatalf("kubectl describe: %v\n%s", err, stderr)
		}
		mustContain(t, "kubectl describe", stdout, "retire-alpine", "Ready", "InForce", "generation 1 is in force: 1 rule", "Observed Generation:")
	})

	t.Run("an update that does not load keeps the last good version in force", func(t *testing.T) {
		bad := retireAlpine + "    - name: empty\n      message: checks nothing\n"
		stdout, stderr, err := apply(t, "base-image-policy.yaml", bad)
		if err != nil {
			t.Fatalf("the schema refused a policy that only fails to load: %v\n%s", err, stderr)
		}
		mustContain(t, "kubectl apply", stdout, "configured")
		waitReady(t, bips, "e2e-objects", "False", `generation 2 does not load: spec.rules[1]: rule "empty" checks nothing`, "generation 1 stays in force")
		decides(t, ns, approved, true, "retire-alpine")
		get, _, _ := kubectl(t, "get", "bip", "e2e-objects")
		if _, row := tableRow(get, "e2e-objects"); len(row) < 4 || row[2] != "1" || row[3] != "False" {
			t.Errorf("kubectl get: %s", get)
		}
		describe, _, _ := kubectl(t, "describe", "bip", "e2e-objects")
		mustContain(t, "kubectl describe", describe, "Invalid", "In Force:", "Generation:  1", "generation 1 stays in force")
		mustContain(t, "the log", hook.logs.String(), "policy object does not load; its last good version stays in force", "object=baseimagepolicy/e2e-objects", "generation=2", "inForceGeneration=1")
	})

	t.Run("a restarted server keeps it in force from the status", func(t *testing.T) {
		if err := hook.stop(); err != nil {
			t.Fatal(err)
		}
		if err := hook.start(); err != nil {
			t.Fatal(err)
		}
		if err := waitForWebhook(); err != nil {
			t.Fatal(err)
		}
		if err := createPod(t.Context(), ns, "probe", approved, true); err == nil || !strings.Contains(err.Error(), "retire-alpine") {
			t.Errorf("after a restart, the last good version is not in force: %v", err)
		}
	})

	t.Run("a good update replaces it", func(t *testing.T) {
		good := strings.Replace(retireAlpine, "alpine:3.19", "alpine:3.18", 1)
		if _, stderr, err := apply(t, "base-image-policy.yaml", good); err != nil {
			t.Fatalf("kubectl apply: %v\n%s", err, stderr)
		}
		decides(t, ns, approved, false)
		decides(t, ns, "registry.example.com/base/alpine:3.18", true, "retire-alpine")
		obj := waitReady(t, bips, "e2e-objects", "True", "generation 3 is in force: 1 rule")
		if _, ok := obj.Object["status"].(map[string]any)["inForce"]; ok {
			t.Errorf("status.inForce kept after a good update: %v", obj.Object["status"])
		}
	})

	t.Run("deleting it removes the policy", func(t *testing.T) {
		if _, stderr, err := kubectl(t, "delete", "baseimagepolicy", "e2e-objects"); err != nil {
			t.Fatalf("kubectl delete: %v\n%s", err, stderr)
		}
		took := decides(t, ns, "registry.example.com/base/alpine:3.18", false)
		t.Logf("admitted again %s after kubectl delete", took)
	})
}

// tableRow splits kubectl's table: its header and the row of name.
func tableRow(out, name string) (header, row []string) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) > 0 {
		header = strings.Fields(lines[0])
	}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			row = f
		}
	}
	return header, row
}

// TestSchemaRefusesMalformedPolicies: kubectl apply of a policy the
// loader would refuse for its shape is refused by the API server, saying
// which field; nothing is created.
func TestSchemaRefusesMalformedPolicies(t *testing.T) {
	requireEnv(t)
	cases := []struct{ name, spec, says string }{
		{"an unknown action", "  action: deny\n  rules: [{name: r, deny: [a]}]", `spec.action: Unsupported value: "deny"`},
		{"no rules", "  action: audit", "spec.rules: Required value"},
		{"an empty rule list", "  rules: []", "spec.rules: Invalid value"},
		{"a rule without a name", "  rules: [{deny: [a]}]", "spec.rules[0].name: Required value"},
		{"patterns written as one string", "  rules: [{name: r, deny: '*centos*'}]", "spec.rules[0].deny: Invalid value"},
		{"a misspelt field", "  rules: [{name: r, alow: [a]}]", `unknown field "spec.rules[0].alow"`},
		{"two patterns in one", `  rules: [{name: r, deny: ["a | b"]}]`, "spec.rules[0].deny[0]: Invalid value"},
		{"an expiry that is no date", "  rules: [{name: r, deny: [a]}]\n  exceptions: [{name: e, reason: x, expires: next week}]", "spec.exceptions[0].expires: Invalid value"},
		{"an exception without a reason", "  rules: [{name: r, deny: [a]}]\n  exceptions: [{name: e}]", "spec.exceptions[0].reason: Required value"},
		{"two rules of one name", "  rules: [{name: r, deny: [a]}, {name: r, deny: [b]}]", "Duplicate value"},
		{"an unknown selector operator", "  rules: [{name: r, deny: [a], match: {selector: {matchExpressions: [{key: a, operator: Matches}]}}}]", `Unsupported value: "Matches"`},
		{"a bad duration", "  rules: [{name: r, maxBaseAge: 3 months}]", "spec.rules[0].maxBaseAge: Invalid value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := "apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata: {name: e2e-malformed}\nspec:\n" + tc.spec + "\n"
			stdout, stderr, err := apply(t, "malformed.yaml", doc)
			if err == nil {
				deleteObject(t, crd.BaseImagePolicies, "e2e-malformed")
				t.Fatalf("kubectl apply accepted it: %s", stdout)
			}
			mustContain(t, "kubectl apply's error", stderr, tc.says)
			if _, _, err := kubectl(t, "get", "bip", "e2e-malformed"); err == nil {
				t.Errorf("the object exists")
			}
		})
	}
}

// TestShippedPoliciesPassTheSchema: the built-in policy and every example
// pass the API server's validation (a server-side dry run) as they are.
func TestShippedPoliciesPassTheSchema(t *testing.T) {
	requireEnv(t)
	files, _ := filepath.Glob(filepath.Join(repoRoot, "examples", "policies", "*.yaml"))
	builtin := filepath.Join(t.TempDir(), "builtin.yaml")
	if err := os.WriteFile(builtin, policy.BuiltinYAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range append(files, builtin) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "kind: BaseImagePolicy") && !strings.Contains(string(data), "kind: ClusterPolicy") {
			continue
		}
		checked++
		t.Run(filepath.Base(f), func(t *testing.T) {
			stdout, stderr, err := kubectl(t, "apply", "--dry-run=server", "-f", f)
			if err != nil {
				t.Fatalf("kubectl apply --dry-run=server: %v\n%s", err, stderr)
			}
			mustContain(t, "kubectl apply", stdout, "(server dry run)")
		})
	}
	if checked < 3 {
		t.Errorf("only %d policies checked", checked)
	}
}
