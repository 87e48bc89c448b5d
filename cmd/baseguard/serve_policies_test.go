package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestPolicyObjectsNeedACluster: asking for policy objects with no
// cluster to read them from is an error saying what to give, not a server
// that silently applies none.
func TestPolicyObjectsNeedACluster(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	for _, flag := range []string{"--policy-objects", "--kyverno-policies"} {
		t.Run(flag, func(t *testing.T) {
			cmd := newRootCmd()
			var errOut bytes.Buffer
			cmd.SetErr(&errOut)
			cmd.SetOut(&errOut)
			cmd.SetArgs([]string{"serve", flag, "--tls-cert-file", "x.crt", "--tls-private-key-file", "x.key"})
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), "--policy-objects needs a cluster: run in a pod or give --kubeconfig") {
				t.Errorf("serve %s without a cluster: %v", flag, err)
			}
		})
	}
}
