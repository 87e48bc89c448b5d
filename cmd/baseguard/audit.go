package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/baseguard/baseguard/audit"
	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/report"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

type auditOptions struct {
	kubeconfig   string
	context      string
	namespace    string
	allNS        bool
	policies     []string
	output       string
	offline      bool
	platform     string
	pullSecrets  bool
	history      string
	html         string
	base         string
	writeReports bool
	now          string
	verbose      bool
	color        string
	resolve      resolveFlags
}

func newAuditCmd() *cobra.Command {
	o := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Judge what runs in a cluster: compliance, bases, their age",
		Long: `Audit the workloads of a cluster against the policies: every Pod that exists
and has not finished, attributed to its top owner (Pod → ReplicaSet →
Deployment, Pod → Job → CronJob, StatefulSet, DaemonSet, workload CRDs), every
container list; workloads without pods (scaled to zero, CronJobs between
runs) are judged on their templates. Each distinct image is looked up in its
registry once, with the pods' pull secrets and their service accounts' where
they have any; --offline judges images as written.

The report gives compliance (containers none of whose image's results fails),
by namespace, the bases that run ranked by containers with their age and
whether their tag still names them, denied and stale bases with where they
run, and exceptions expired or expiring within 30 days; -o json gives check's
results and summary plus the inventory; --html a self-contained report.

--write-reports publishes the results as wgpolicyk8s.io/v1alpha2 PolicyReports,
one per namespace (the CRDs must be installed). --history appends one line of
numbers per audit to a file; the HTML report charts them.

Exit status: 0 when no enforced rule failed, 1 when one did, 2 when something
could not be checked.`,
		Example: `  # The current context, all namespaces
  baseguard audit

  # One namespace, for scripts
  baseguard audit -n payments -o json

  # A report to open or attach, with the trend of earlier audits
  baseguard audit --history audits.jsonl --html report.html

  # Who runs on this base?
  baseguard audit --base 'registry.example.com/base/alpine:3.19*'

  # PolicyReports in the cluster, for Policy Reporter
  baseguard audit --write-reports`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAudit(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.context, "context", "", "kubeconfig context to use (default: the current context)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "audit only this namespace")
	f.BoolVarP(&o.allNS, "all-namespaces", "A", false, "audit every namespace (the default)")
	f.StringArrayVarP(&o.policies, "policy", "p", nil, "policy file or directory (repeatable); default: the built-in policy")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.BoolVar(&o.offline, "offline", false, "judge references as written: no registry is asked")
	f.StringVar(&o.platform, "platform", "", "platform os/arch[/variant] resolved (default linux/amd64, else an image's first)")
	f.BoolVar(&o.pullSecrets, "pull-secrets", true, "look private images up with pods' imagePullSecrets and their service accounts' (needs get on secrets)")
	f.StringVar(&o.history, "history", "", "append this audit's numbers to `FILE` (one JSON line each) and chart them in --html")
	f.StringVar(&o.html, "html", "", "write a self-contained HTML report to `FILE`")
	f.StringVar(&o.base, "base", "", "keep only workloads whose lineage has an entry matching `PATTERN` (policy glob), at any depth")
	f.BoolVar(&o.writeReports, "write-reports", false, "write the results as PolicyReports, one per namespace")
	f.StringVar(&o.now, "now", "", "evaluate exceptions and ages as of this RFC 3339 time (default: now)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "list passing results too (text output)")
	f.StringVar(&o.color, "color", "auto", "colour text output: auto, always or never")
	f.StringArrayVar(&o.resolve.catalog, "catalog", nil, "known base image, recognised by its layers (repeatable; adds to the policies' spec.catalog)")
	f.DurationVar(&o.resolve.timeout, "timeout", 30*time.Second, "give up resolving one image after this long")
	return cmd
}

func runAudit(cmd *cobra.Command, o *auditOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	set, err := loadPolicies(o.policies)
	if err != nil {
		return err
	}
	now, err := (&checkOptions{now: o.now}).evaluationTime()
	if err != nil {
		return err
	}
	cfg, err := o.restConfig()
	if err != nil {
		return err
	}
	resolver, err := o.resolver(cmd.ErrOrStderr(), set, cfg)
	if err != nil {
		return err
	}
	bar := newProgress(cmd.ErrOrStderr(), o.output == "text")
	a, err := audit.Run(cmd.Context(), audit.Options{
		Config: cfg, Policies: set, Resolver: resolver, PullSecrets: o.pullSecrets && resolver != nil,
		Namespace: o.namespace, Now: func() time.Time { return now }, Progress: bar,
	})
	bar.finish()
	if err != nil {
		return err
	}
	return o.publish(cmd, a, cfg)
}

func (o *auditOptions) validate() error {
	switch {
	case o.output != "text" && o.output != "json":
		return fmt.Errorf("--output %q: want text or json", o.output)
	case o.allNS && o.namespace != "":
		return fmt.Errorf("--namespace and --all-namespaces exclude each other")
	case o.history != "" && o.base != "":
		return fmt.Errorf("--history records the whole audit: it cannot be combined with --base, which keeps some")
	case o.writeReports && o.base != "":
		return fmt.Errorf("--write-reports publishes every result: it cannot be combined with --base, which keeps some")
	}
	if o.base != "" {
		if _, err := imageref.CompilePattern(o.base); err != nil {
			return fmt.Errorf("--base: %w", err)
		}
	}
	return nil
}

// publish writes what was asked for: reports in the cluster, history,
// HTML, then the report on stdout; the exit status follows the results.
func (o *auditOptions) publish(cmd *cobra.Command, a *audit.Audit, cfg *rest.Config) error {
	stderr := cmd.ErrOrStderr()
	for _, n := range a.Notes {
		fmt.Fprintln(stderr, "baseguard: note: "+report.Printable(n))
	}
	for _, p := range a.Problems {
		fmt.Fprintln(stderr, "baseguard: error: "+report.Printable(p))
	}
	if o.base != "" {
		a = a.WithBase(imageref.MustCompilePattern(o.base))
	}
	if o.writeReports {
		n, err := audit.WriteReports(cmd.Context(), cfg, a, audit.ReportOptions{})
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "baseguard: wrote %d PolicyReports\n", n)
	}
	history, err := o.appendHistory(a)
	if err != nil {
		return err
	}
	if o.html != "" {
		if err := writeHTMLFile(o.html, a, history); err != nil {
			return err
		}
	}
	if err := o.write(cmd.OutOrStdout(), a); err != nil {
		return err
	}
	return auditVerdict(a)
}

func (o *auditOptions) write(w io.Writer, a *audit.Audit) error {
	if o.output == "json" {
		return audit.WriteJSON(w, a)
	}
	return audit.WriteText(w, a, audit.TextOptions{Color: useColor(o.color, w), Verbose: o.verbose})
}

// auditVerdict maps the audit to the exit status, as check does.
func auditVerdict(a *audit.Audit) error {
	var v verdict
	for _, w := range a.Workloads {
		for _, it := range w.Items {
			v.add(it.Results)
		}
	}
	if len(a.Problems) > 0 {
		v.errors = true
	}
	return v.err()
}

// restConfig reads the kubeconfig as kubectl does: --kubeconfig, else
// $KUBECONFIG, else ~/.kube/config, else the in-cluster config.
func (o *auditOptions) restConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	cfg.UserAgent = "baseguard/" + version
	return cfg, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
