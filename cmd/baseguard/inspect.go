package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/report"
	"github.com/baseguard/baseguard/trust"
	"github.com/spf13/cobra"
)

type inspectOptions struct {
	output   string
	platform string
	policies []string
	resolveFlags
}

func newInspectCmd() *cobra.Command {
	o := &inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect IMAGE",
		Short: "Show what an image is built on, per platform",
		Long: `Resolve an image's lineage from its registry: the image, its base, the base
of its base, and so on, for every platform of a multi-platform image.

Bases are found from OCI base-image annotations, BuildKit provenance
attestations, legacy BuildKit buildinfo, Buildpacks metadata, or by matching
layers against a catalog of known bases (the policies' spec.catalog and
--catalog). A declared base is verified when its layers are a prefix of the
image's. Text output also says whether each base's tag still points at the
image found.

For each image it lists the signatures and attestations cosign attached
(the sha256-<hex>.sig and .att tags, and Sigstore bundles as OCI 1.1
referrers), what each names, vulnerability scans with their scanner, age and
counts by severity, and, with --policy, which of the policy's keys verifies
each one or why none does.

Credentials come from Docker's configuration and credential helpers.
Manifests and blobs are cached by digest under the user cache directory;
--offline uses only that cache (give the image by digest).

Exit status: 0 when the lineage was resolved, 2 when it could not be.`,
		Example: `  # What is this image built on?
  baseguard inspect registry.example.com/apps/payments:1.4

  # One platform, as JSON
  baseguard inspect --platform linux/arm64 -o json ghcr.io/org/app:v2

  # Recognise bases by layers using a policy's catalog and one more image
  baseguard inspect --policy policy.yaml --catalog alpine:3.19 app:latest`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspect(cmd, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.StringVar(&o.platform, "platform", "", "resolve only this platform, os/arch[/variant] (default: all)")
	f.StringArrayVarP(&o.policies, "policy", "p", nil, "policy file or directory whose catalog lists known bases (repeatable)")
	o.resolveFlags.register(f)
	return cmd
}

func runInspect(cmd *cobra.Command, o *inspectOptions, image string) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("--output %q: want text or json", o.output)
	}
	ref, err := imageref.Parse(image)
	if err != nil {
		return err
	}
	c, view, err := o.client(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
	defer cancel()
	var ropts []registry.ResolveOption
	if o.platform != "" {
		ropts = append(ropts, registry.ForPlatform(o.platform))
	}
	res, err := trust.New(c, trust.Always()).Resolve(ctx, ref, ropts...)
	if err != nil {
		return err
	}
	if o.output == "json" {
		err = writeInspectJSON(cmd.OutOrStdout(), image, res, view)
	} else {
		err = writeInspectText(cmd.OutOrStdout(), image, res, view)
	}
	if err != nil {
		return err
	}
	return lineageErrors(cmd.ErrOrStderr(), res)
}

// client builds the resolver from the policies' catalog and the flags, and
// the view of signatures that verifies them with the policies' keys.
func (o *inspectOptions) client(notice io.Writer) (*registry.Client, trustView, error) {
	view := trustView{now: time.Now()}
	var set *policy.Set
	if len(o.policies) > 0 {
		var err error
		if set, err = loadPolicies(o.policies); err != nil {
			return nil, view, err
		}
		view.keys = set.Keys()
	}
	c, err := o.resolveFlags.client(set, notice)
	return c, view, err
}

// lineageErrors reports platforms whose lineage could not be fully
// resolved; any makes the exit status 2.
func lineageErrors(w io.Writer, res registry.Result) error {
	failed := false
	for _, p := range res.Platforms {
		if p.Lineage.Err != nil {
			fmt.Fprintf(w, "baseguard: %s: %s\n", p.Platform, report.Printable(p.Lineage.Err.Error()))
			failed = true
		}
		for _, e := range p.Lineage.Entries {
			if e.Trust != nil && e.Trust.Err != nil {
				fmt.Fprintf(w, "baseguard: %s: %s: %s\n", p.Platform, e.Ref.Canonical(), report.Printable(e.Trust.Err.Error()))
				failed = true
			}
		}
	}
	if failed {
		return errUnchecked
	}
	return nil
}

// The JSON contract of inspect (DESIGN.md, "Outputs").
type inspectJSON struct {
	Image     string             `json:"image"`
	Platforms []inspectPlatformJ `json:"platforms"`
}

type inspectPlatformJ struct {
	Platform string          `json:"platform"`
	Digest   string          `json:"digest"`
	Lineage  []inspectEntryJ `json:"lineage"`
	Error    string          `json:"error,omitempty"`
}

type inspectEntryJ struct {
	Ref         string `json:"ref"`
	Digest      string `json:"digest,omitempty"`
	Source      string `json:"source"`
	Verified    bool   `json:"verified"`
	TagVerified *bool  `json:"tagVerified,omitempty"`
	// Trust is what signs and attests the entry.
	Trust *trustJ `json:"trust,omitempty"`
}

func writeInspectJSON(w io.Writer, image string, res registry.Result, view trustView) error {
	out := inspectJSON{Image: image, Platforms: []inspectPlatformJ{}}
	for _, p := range res.Platforms {
		pj := inspectPlatformJ{Platform: p.Platform, Digest: p.Digest, Lineage: []inspectEntryJ{}}
		for _, e := range p.Lineage.Entries {
			pj.Lineage = append(pj.Lineage, inspectEntryJ{Ref: e.Ref.Canonical(), Digest: e.Digest, Source: string(e.Source), Verified: e.Verified, TagVerified: e.TagVerified, Trust: view.json(e)})
		}
		if p.Lineage.Err != nil {
			pj.Error = p.Lineage.Err.Error()
		}
		out.Platforms = append(out.Platforms, pj)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeInspectText(w io.Writer, image string, res registry.Result, view trustView) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s\n", report.Printable(image), res.Digest)
	for _, p := range res.Platforms {
		platform := p.Platform
		if platform == "" {
			platform = "(platform not stated)"
		}
		fmt.Fprintf(&b, "\n%s  %s\n", platform, p.Digest)
		for i, e := range p.Lineage.Entries {
			writeEntryText(&b, i, e)
			view.text(&b, strings.Repeat("  ", i)+"    ", e)
		}
		if len(p.Lineage.Entries) == 1 && p.Lineage.Err == nil {
			b.WriteString("  no base found (FROM scratch, or declared nowhere and not in the catalog)\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeEntryText(b *strings.Builder, i int, e lineage.Entry) {
	arrow := "  "
	if i > 0 {
		arrow = strings.Repeat("  ", i) + "└ "
	}
	fmt.Fprintf(b, "%s%s  %s  %s", arrow, e.Ref.Canonical(), short(e.Digest), e.Source)
	if i > 0 {
		if e.Verified {
			b.WriteString("  verified")
		} else {
			b.WriteString("  NOT VERIFIED")
		}
		b.WriteString("  " + freshness(e))
	}
	if !e.Created.IsZero() {
		fmt.Fprintf(b, "  built %s", e.Created.UTC().Format(time.DateOnly))
	}
	b.WriteString("\n")
	for _, p := range e.Problems {
		fmt.Fprintf(b, "%s    ! %s\n", strings.Repeat("  ", i), report.Printable(p))
	}
}

func freshness(e lineage.Entry) string {
	switch {
	case e.Current == nil:
		return "freshness unknown"
	case *e.Current:
		return "current"
	case e.LatestDigest == "":
		return "outdated: its tag is gone"
	}
	return "outdated: its tag now points at " + short(e.LatestDigest)
}

// short abbreviates a digest for people.
func short(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	if d == "" {
		return "-"
	}
	return d
}
