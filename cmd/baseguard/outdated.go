package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/rebase"
	"github.com/baseguard/baseguard/subject"
	"github.com/spf13/cobra"
)

type outdatedOptions struct {
	policies  []string
	output    string
	namespace string
	platform  string
	labels    []string
	resolveFlags
}

func newOutdatedCmd() *cobra.Command {
	o := &outdatedOptions{}
	cmd := &cobra.Command{
		Use:   "outdated [PATH|-]...",
		Short: "Find the bases that are behind, why, and the fix",
		Long: `Report each base that is behind, in manifests (every container's image,
resolved to what it is built on) and in Dockerfiles (every FROM line):

  tag-moved      the base's tag names another image than the one the image
                 was built on (or the FROM was pinned to)
  newer-version  the base's repository has a newer version with the same
                 tag shape (3.19 -> 3.21, 3.19-slim -> 3.21-slim) that the
                 policies allow; a tag that is not a version is only
                 checked for moving
  denied         the policies deny the base

Identical digests are never outdated. The fix: "update" for a Dockerfile
(baseguard update rewrites it); for an image, "rebase" when its base's tag
moved (baseguard rebase) and "rebuild" for another version or a denied
base (a version change may change the ABI). With no --policy the built-in
policy decides what is allowed.

PATH is read as check reads it: files, directories, - for standard input.

Exit status: 0 when nothing is outdated, 1 when something is, 2 when
something could not be checked.`,
		Example: `  baseguard outdated k8s/ services/
  baseguard outdated --policy policy.yaml -o json services/api/Dockerfile`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runOutdated(cmd, o, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.policies, "policy", "p", nil, "policy file or directory (repeatable); default: the built-in policy")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace of resources that name none")
	f.StringVar(&o.platform, "platform", "", "platform os/arch[/variant] of images to resolve (default linux/amd64, else an image's first)")
	f.StringArrayVar(&o.labels, "label", nil, "label KEY=VALUE that rules see on Dockerfiles (repeatable)")
	o.resolveFlags.register(f)
	return cmd
}

func runOutdated(cmd *cobra.Command, o *outdatedOptions, args []string) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("--output %q: want text or json", o.output)
	}
	set, err := loadPolicies(o.policies)
	if err != nil {
		return err
	}
	labels, err := keyValues("label", o.labels)
	if err != nil {
		return err
	}
	checker, client, err := o.checker(set, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	found, errs, err := o.check(cmd, checker, client, labels, args)
	if err != nil {
		return err
	}
	for _, err := range errs {
		fmt.Fprintln(cmd.ErrOrStderr(), "baseguard: "+err.Error())
	}
	if o.output == "json" {
		err = writeOutdatedJSON(cmd.OutOrStdout(), found)
	} else {
		err = writeOutdatedText(cmd.OutOrStdout(), found)
	}
	switch {
	case err != nil:
		return err
	case len(errs) > 0:
		return errUnchecked
	case len(found) > 0:
		return errPolicyFailed
	}
	return nil
}

// check reads the inputs and checks every FROM line and every container
// image; errs are what could not be checked.
func (o *outdatedOptions) check(cmd *cobra.Command, checker *rebase.Checker, client *registry.Client, labels map[string]string, args []string) (found []rebase.Finding, errs []error, err error) {
	inputs, err := collectInputs(args)
	if err != nil {
		return nil, nil, err
	}
	var subs []*subject.Subject
	mopt := subject.Options{DefaultNamespace: o.namespace, Workers: runtime.GOMAXPROCS(0)}
	for _, in := range inputs {
		if in.kind == dockerfileInput {
			fs, err := outdatedDockerfile(cmd.Context(), checker, in.name, labels, cmd.ErrOrStderr())
			if err != nil {
				errs = append(errs, err)
			}
			found = append(found, fs...)
			continue
		}
		err := readInput(in, cmd.InOrStdin(), readOptions{manifests: mopt}, func(s *subject.Subject) error {
			subs = append(subs, s)
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	fs, imgErrs := outdatedImages(cmd.Context(), checker, client, subs, o.platform)
	return append(found, fs...), append(errs, imgErrs...), nil
}

// checker builds the lineage client and the checker on it.
func (r *resolveFlags) checker(set *policy.Set, notice io.Writer) (*rebase.Checker, *registry.Client, error) {
	c, err := r.client(set, notice)
	if err != nil {
		return nil, nil, err
	}
	opts := rebase.Options{Lineage: c, Policies: set, UserAgent: "baseguard/" + version}
	if dir, err := registry.DefaultCacheDir(); err == nil {
		opts.CacheDir = dir
	}
	ch, err := rebase.NewChecker(opts)
	return ch, c, err
}

func outdatedDockerfile(ctx context.Context, c *rebase.Checker, file string, labels map[string]string, notice io.Writer) ([]rebase.Finding, error) {
	data, err := readFile(file)
	if err != nil {
		return nil, err
	}
	df, err := rebase.ParseDockerfile(file, data)
	if err != nil {
		return nil, err
	}
	fs, notices, err := c.CheckDockerfile(ctx, df, labels)
	for _, n := range notices {
		fmt.Fprintln(notice, "baseguard: note: "+n)
	}
	return fs, err
}

// outdatedImages resolves every distinct image once and checks each
// subject's base.
func outdatedImages(ctx context.Context, c *rebase.Checker, client *registry.Client, subs []*subject.Subject, platform string) ([]rebase.Finding, []error) {
	lin := resolveAll(ctx, client, subs, platform)
	var out []rebase.Finding
	var errs []error
	for _, s := range subs {
		if s.Scratch {
			continue
		}
		fs, err := c.CheckImage(ctx, s, lin.of(s))
		if err != nil {
			errs = append(errs, err)
		}
		out = append(out, fs...)
	}
	return out, errs
}

// The JSON contract of outdated.
type outdatedJSON struct {
	Items []outdatedItem `json:"items"`
}

type outdatedItem struct {
	File      string            `json:"file"`
	Line      int               `json:"line"`
	Resource  *outdatedResource `json:"resource"`
	Container string            `json:"container"`
	Image     string            `json:"image"`
	Base      rebaseBase        `json:"base"`
	Current   *rebaseBase       `json:"current"`
	Reason    string            `json:"reason"`
	Fix       string            `json:"fix"`
	Message   string            `json:"message"`
}

type outdatedResource struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

func writeOutdatedJSON(w io.Writer, fs []rebase.Finding) error {
	out := outdatedJSON{Items: []outdatedItem{}}
	for _, f := range fs {
		it := outdatedItem{File: f.File, Line: f.Line, Container: f.Container, Image: f.Image,
			Base: rebaseBase{Ref: f.Base.Ref, Digest: f.Base.Digest}, Reason: string(f.Reason), Fix: string(f.Fix), Message: f.Message}
		if r := f.Resource; r != nil {
			it.Resource = &outdatedResource{APIVersion: r.APIVersion, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
		}
		if f.Current != nil {
			it.Current = &rebaseBase{Ref: f.Current.Ref, Digest: f.Current.Digest}
		}
		out.Items = append(out.Items, it)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeOutdatedText(w io.Writer, fs []rebase.Finding) error {
	var b strings.Builder
	for _, f := range fs {
		where := fmt.Sprintf("%s:%d", f.File, f.Line)
		what := "FROM " + f.Image
		if f.Resource != nil {
			what = fmt.Sprintf("%s container %q image %s", f.Resource.ID(), f.Container, f.Image)
		}
		fmt.Fprintf(&b, "%s  %s\n  %s: %s\n", where, what, f.Reason, f.Message)
		if f.Current != nil {
			fmt.Fprintf(&b, "  current: %s@%s\n", f.Current.Ref, f.Current.Digest)
		}
		fmt.Fprintf(&b, "  fix: %s\n", fixText(f))
	}
	if len(fs) == 0 {
		b.WriteString("nothing outdated\n")
	} else {
		fmt.Fprintf(&b, "\n%d outdated\n", len(fs))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fixText is the fix as a command or an action.
func fixText(f rebase.Finding) string {
	switch f.Fix {
	case rebase.FixUpdate:
		return "baseguard update " + f.File
	case rebase.FixRebase:
		return "baseguard rebase " + f.Image
	}
	return "rebuild the image on an allowed base"
}
