package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "baseguard",
		Short: "What is this container image built on, and is that allowed?",
		Long: `baseguard checks the base images of container images against a policy of
approved bases, deprecated bases, stricter tiers for labelled workloads,
version constraints and time-limited exceptions: in CI (manifests,
Dockerfiles), at Kubernetes admission, and over running clusters. On day
two it finds what is behind, pins Dockerfiles to current approved bases and
rebases images onto them.

Installed as kubectl-baseguard it also works as "kubectl baseguard".`,
		Version:       versionLine(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	if pluginName() {
		// Installed as a kubectl plugin, usage lines read "kubectl baseguard".
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl baseguard"}
	}
	root.AddCommand(
		newCheckCmd(),
		newInspectCmd(),
		newPolicyCmd(),
		newServeCmd(),
		newCertsCmd(),
		newRebaseCmd(),
		newOutdatedCmd(),
		newUpdateCmd(),
		newAuditCmd(),
	)
	return root
}

// pluginName reports whether the binary runs as kubectl-baseguard.
func pluginName() bool {
	return strings.HasPrefix(filepath.Base(os.Args[0]), "kubectl-")
}
