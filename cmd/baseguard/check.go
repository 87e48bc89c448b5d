package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/render"
	"github.com/baseguard/baseguard/report"
	"github.com/baseguard/baseguard/subject"
	"github.com/spf13/cobra"
)

type checkOptions struct {
	policies  []string
	output    string
	namespace string
	buildArgs []string
	labels    []string
	target    string
	platform  string
	values    []string
	// renderTimeout bounds each chart's and kustomization's render.
	renderTimeout time.Duration
	now           string
	verbose       bool
	// allowEmpty makes inputs that hold nothing to judge no failure: for
	// hooks handed whatever files changed.
	allowEmpty bool
	color      string
	resolve    bool
	resolveFlags
}

func newCheckCmd() *cobra.Command {
	o := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check [PATH|-]...",
		Short: "Check manifests and Dockerfiles against base-image policies",
		Long: `Check every container image of every pod-bearing resource (containers,
initContainers, ephemeralContainers and image volumes; Pod, Deployment,
ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController,
PodTemplate, the pod templates of Argo Rollouts, Knative, KEDA ScaledJob,
OpenKruise and OpenShift DeploymentConfig, and kinds the policies declare in
spec.workloads), the shipped base of every Dockerfile for every platform it
builds, and the images its build pulls in (judged by deny rules) against the
policies.

Offline (the default) an image's lineage is the image itself. With --resolve
each distinct image is looked up in its registry (once, whatever the number
of containers using it) and rules apply to what it is built on: bases from
OCI annotations, BuildKit provenance, buildinfo, Buildpacks metadata, or
layers matched against the policies' catalog.

PATH is a file, a directory or - for standard input. A directory is walked
(symbolic links followed, hidden directories entered, .git skipped) for .yaml,
.yml, .json manifests and Dockerfiles (Dockerfile, Containerfile,
*.Dockerfile, Dockerfile.*, Dockerfile-*, Dockerfile_*); a directory with a
kustomization is built as kustomize builds it, a Helm chart is rendered as
helm template renders it (--values for more values). With no --policy the
built-in policy is used.

Exit status: 0 when no enforced rule failed, 1 when one did, 2 when something
could not be checked (bad policy, unreadable or invalid input, or no image at
all among the inputs).`,
		Example: `  # Check a directory of manifests and Dockerfiles with the built-in policy
  baseguard check examples/

  # Check a Helm chart with production values, and a kustomize overlay, as JSON
  baseguard check --policy policy.yaml --values prod.yaml -o json ./chart overlays/prod

  # A Dockerfile for the platforms it is built for
  baseguard check --platform linux/amd64,linux/arm64,linux/s390x Dockerfile

  # SARIF for code scanning
  baseguard check --policy policy.yaml -o sarif k8s/ > baseguard.sarif

  # Judge what images are built on, looked up in their registries
  baseguard check --resolve --policy policy.yaml k8s/ services/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd, o, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.policies, "policy", "p", nil, "policy file or directory (repeatable); default: the built-in policy")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text, json or sarif")
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace of resources that name none")
	f.StringArrayVar(&o.buildArgs, "build-arg", nil, "Dockerfile build argument KEY=VALUE (repeatable)")
	f.StringArrayVar(&o.labels, "label", nil, "label KEY=VALUE that rules see on Dockerfiles (repeatable)")
	f.StringVar(&o.target, "target", "", "Dockerfile stage to check (default: the last)")
	f.StringVar(&o.platform, "platform", "", "platforms os/arch[/variant], comma-separated: Dockerfiles are judged for each (default linux/amd64,linux/arm64); with --resolve each Dockerfile's base is resolved for the platform it is judged for, other images for the first listed (default linux/amd64, else an image's first)")
	f.StringArrayVar(&o.values, "values", nil, "Helm values file for the charts among the inputs (repeatable, later ones win)")
	f.DurationVar(&o.renderTimeout, "render-timeout", render.DefaultTimeout, "time a chart or kustomization among the inputs may take to render before check gives up on it (exit 2)")
	f.StringVar(&o.now, "now", "", "evaluate exceptions as of this RFC 3339 time (default: now)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "list passing results too (text output)")
	f.BoolVar(&o.allowEmpty, "allow-empty", false, "inputs that hold no container image are no failure (for hooks given whatever files changed)")
	f.StringVar(&o.color, "color", "auto", "colour text output: auto, always or never")
	f.BoolVar(&o.resolve, "resolve", false, "look images up in their registries and judge what they are built on")
	o.resolveFlags.register(f)
	return cmd
}

// checkGCPercent is the garbage collector's target for check when GOGC is
// not set: a short batch job whose live heap is small trades a few MiB of
// peak memory for a tenth less CPU (see BENCHMARKS.md).
const checkGCPercent = 200

// checkMemoryLimit is the heap's soft limit for check when GOMEMLIMIT is
// not set: past it the collector runs more often, so a large resource's
// live heap is not tripled by checkGCPercent.
const checkMemoryLimit = 128 << 20

func runCheck(cmd *cobra.Command, o *checkOptions, args []string) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(checkGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(checkMemoryLimit)
	}
	if o.output != "text" && o.output != "json" && o.output != "sarif" {
		return fmt.Errorf("--output %q: want text, json or sarif", o.output)
	}
	set, err := loadPolicies(o.policies)
	if err != nil {
		return err
	}
	now, err := o.evaluationTime()
	if err != nil {
		return err
	}
	w, err := o.writer(cmd.OutOrStdout(), set)
	if err != nil {
		return err
	}
	var v verdict
	judged := 0
	judge := func(s *subject.Subject, l lineage.Lineage) error {
		judged++
		results := set.Evaluate(s, l, now)
		v.add(results)
		return w.Write(results)
	}
	if err := o.judgeAll(cmd, set, args, judge); err != nil {
		w.Close() // what was judged stays a well-formed report
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if judged == 0 && !o.allowEmpty {
		return fmt.Errorf("no container image found in %s (no pod-bearing resource, no Dockerfile): nothing was judged", strings.Join(args, " "))
	}
	return v.err()
}

// judgeAll reads the inputs and judges every subject. Offline, and when no
// rule selects namespaces by label, each subject is judged as it is read,
// so memory does not grow with the inputs. Otherwise all subjects are read
// first: namespace labels come from Namespace objects anywhere among the
// inputs, and lineages are resolved once per distinct image.
func (o *checkOptions) judgeAll(cmd *cobra.Command, set *policy.Set, args []string, judge func(*subject.Subject, lineage.Lineage) error) error {
	stdin, notice := cmd.InOrStdin(), cmd.ErrOrStderr()
	resolving := o.resolve || o.offline
	if !resolving && !set.SelectsNamespaces() {
		lin := offlineLineages{}
		return o.readSubjects(stdin, notice, set, args, nil, func(s *subject.Subject) error { return judge(s, lin.of(s)) })
	}
	var subs []*subject.Subject
	namespaces := map[string]map[string]string{}
	err := o.readSubjects(stdin, notice, set, args, namespaces, func(s *subject.Subject) error {
		subs = append(subs, s)
		return nil
	})
	if err != nil {
		return err
	}
	for _, s := range subs {
		if l, ok := namespaces[s.Resource.Namespace]; ok && s.Resource.Kind != subject.KindDockerfile {
			s.Resource.NamespaceLabels = l
		}
	}
	var lin lineages = offlineLineages{}
	if resolving {
		c, err := o.pipeline(set, notice)
		if err != nil {
			return err
		}
		var platform string
		if platforms, _ := parsePlatforms(o.platform); len(platforms) > 0 {
			platform = platforms[0]
		}
		subs = perPlatform(subs)
		lin = resolveAll(cmd.Context(), c, subs, platform)
	}
	for _, s := range subs {
		if err := judge(s, lin.of(s)); err != nil {
			return err
		}
	}
	return nil
}

func (o *checkOptions) evaluationTime() (time.Time, error) {
	if o.now == "" {
		return time.Now(), nil
	}
	t, err := time.Parse(time.RFC3339, o.now)
	if err != nil {
		return time.Time{}, fmt.Errorf("--now %q: want an RFC 3339 time", o.now)
	}
	return t, nil
}

// readOptions say how inputs are read.
type readOptions struct {
	manifests  subject.Options
	dockerfile subject.DockerfileOptions
	chart      render.ChartOptions
	// renderTimeout bounds each chart's and kustomization's render
	// (render.DefaultTimeout when zero).
	renderTimeout time.Duration
}

// readSubjects reads every input and hands each subject to emit. With a
// namespaces map, it records the labels of Namespace objects read.
func (o *checkOptions) readSubjects(stdin io.Reader, notice io.Writer, set *policy.Set, args []string, namespaces map[string]map[string]string, emit func(*subject.Subject) error) error {
	inputs, err := collectInputs(args)
	if err != nil {
		return err
	}
	ro, err := o.readOptions(notice, set)
	if err != nil {
		return err
	}
	if namespaces != nil {
		ro.manifests.OnNamespace = func(name string, l map[string]string) { namespaces[name] = l }
	}
	for _, in := range inputs {
		if err := readInput(in, stdin, ro, emit); err != nil {
			return err
		}
	}
	return nil
}

// subjectsPerCall bounds the subjects of one resource held at once:
// check judges each as it comes, so a pod of 400,000 containers need not
// be held whole.
const subjectsPerCall = 1024

func (o *checkOptions) readOptions(notice io.Writer, set *policy.Set) (readOptions, error) {
	buildArgs, err := keyValues("build-arg", o.buildArgs)
	if err != nil {
		return readOptions{}, err
	}
	labels, err := keyValues("label", o.labels)
	if err != nil {
		return readOptions{}, err
	}
	platforms, err := parsePlatforms(o.platform)
	if err != nil {
		return readOptions{}, err
	}
	return readOptions{
		manifests: subject.Options{
			DefaultNamespace: o.namespace,
			Workers:          runtime.GOMAXPROCS(0),
			SubjectsPerCall:  subjectsPerCall,
			Workloads:        set.Workloads(),
			OnNotice:         func(n subject.Notice) { fmt.Fprintf(notice, "baseguard: notice: %s\n", n) },
		},
		dockerfile:    subject.DockerfileOptions{BuildArgs: buildArgs, Target: o.target, Labels: labels, Platforms: platforms},
		chart:         render.ChartOptions{ValuesFiles: o.values, Namespace: o.namespace},
		renderTimeout: o.renderTimeout,
	}, nil
}

// parsePlatforms splits --platform's comma-separated os/arch[/variant]
// list; empty gives none (the defaults apply).
func parsePlatforms(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		parts := strings.Split(p, "/")
		if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
			return nil, fmt.Errorf("--platform %q: want os/arch[/variant], comma-separated", p)
		}
		out = append(out, p)
	}
	return out, nil
}

// writer returns the report writer for --output.
func (o *checkOptions) writer(w io.Writer, set *policy.Set) (report.Writer, error) {
	switch o.output {
	case "json":
		return report.NewJSON(w), nil
	case "sarif":
		return report.NewSARIF(w, set.Policies(), version)
	case "text":
		return report.NewText(w, report.TextOptions{Color: useColor(o.color, w), Verbose: o.verbose}), nil
	}
	return nil, fmt.Errorf("--output %q: want text, json or sarif", o.output)
}

// verdict accumulates what decides the exit status.
type verdict struct {
	errors, blocking bool
}

func (v *verdict) add(results []policy.Result) {
	for i := range results {
		v.errors = v.errors || results[i].Status == policy.StatusError
		v.blocking = v.blocking || results[i].Blocking()
	}
}

// err maps the verdict to the exit status: errors first (the check is
// incomplete), then enforced failures.
func (v *verdict) err() error {
	switch {
	case v.errors:
		return errUnchecked
	case v.blocking:
		return errPolicyFailed
	}
	return nil
}

func useColor(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
