package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/baseguard/baseguard/admission"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
)

// policyObjectsHelp is serve's help on policies as cluster objects.
const policyObjectsHelp = `
With --policy-objects, BaseImagePolicy objects (baseguard.dev/v1alpha1, the
chart's CRD) are policies too, in force beside the files' (kubectl apply,
get baseimagepolicies, describe). Each is loaded on its own within seconds
of a change; its status says whether it is in force (Ready) and why not. An
update that does not load keeps the previous version in force, on every
replica and across restarts; a deleted object's policy is no longer in
force. A name given by a policy file is the file's. The built-in policy is
in force only while no file and no object gives a policy. With
--kyverno-policies, Kyverno ClusterPolicies (kyverno.io/v1) whose rules all
check container images are policies too, for clusters that do not run
Kyverno (serve refuses to start where Kyverno is installed).
`

func addPolicyObjectFlags(f *pflag.FlagSet, o *serveOptions) {
	f.BoolVar(&o.policyObjects, "policy-objects", false, "also apply the cluster's BaseImagePolicy objects and keep their status (RBAC: get, list, watch baseimagepolicies; update baseimagepolicies/status)")
	f.BoolVar(&o.kyvernoPolicies, "kyverno-policies", false, "also apply Kyverno ClusterPolicies whose rules all check images, for clusters without Kyverno (implies --policy-objects; RBAC: the same on clusterpolicies.kyverno.io)")
}

// clusterPolicies watches the cluster's policy objects when asked: nil
// otherwise.
func (o *serveOptions) clusterPolicies(ctx context.Context, cfg *rest.Config, log *slog.Logger) (*admission.ClusterPolicies, error) {
	if !o.wantsPolicyObjects() {
		return nil, nil
	}
	if cfg == nil {
		return nil, errors.New("--policy-objects needs a cluster: run in a pod or give --kubeconfig")
	}
	return admission.WatchClusterPolicies(ctx, cfg, admission.ClusterPolicyOptions{Kyverno: o.kyvernoPolicies, Logger: log})
}

func (o *serveOptions) wantsPolicyObjects() bool { return o.policyObjects || o.kyvernoPolicies }
