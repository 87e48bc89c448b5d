package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/rebase"
	"github.com/spf13/cobra"
)

type rebaseOptions struct {
	req      rebase.Request
	output   string
	policies []string
	labels   []string
	resolveFlags
}

func newRebaseCmd() *cobra.Command {
	o := &rebaseOptions{}
	cmd := &cobra.Command{
		Use:   "rebase IMAGE",
		Short: "Move an image onto a newer base without rebuilding it",
		Long: `Replace the base layers of an image by those of a new base, as crane rebase
and pack rebase do, with checks around it.

The old base is the one the image's lineage names (OCI base annotations,
provenance, Buildpacks run image, or a catalog layer match); it must be
verified: its layers a prefix of the image's. --old-base overrides it. The
new base is --new-base or, by default, what the old base's tag names now;
when that is the base the image already has, nothing is done.

Every platform of a multi-platform image is rebased onto the same platform
of the new base and written as one index with every platform; attestation
manifests are not carried over. The result keeps the image's own
configuration and history, and declares the new base with the
org.opencontainers.image.base.name and .digest annotations. Signatures of
the original do not apply to the result: sign it again.

Refused, with a reason and nothing written: an old base that is not
verified, a new base for another OS or architecture or without one of the
image's platforms (--platform limits the rebase to some), a new base the
--policy files do not allow on the lineage the result would have, a
Buildpacks image labelled io.buildpacks.rebasable=false (the last two
unless --force).

With neither --tag nor --to the image's own tag is moved. --dry-run
computes everything and writes nothing.

Exit status: 0 when rebased or already current, 2 when refused or when
something failed.`,
		Example: `  # Same base tag, its current digest, pushed as a new tag
  baseguard rebase registry.example.com/apps/payments:1.4 --tag 1.4-rebased

  # Onto another base, if the policy allows it
  baseguard rebase app:1.4 --new-base registry.example.com/base/alpine:3.21 --policy policy.yaml

  # What would happen, as JSON
  baseguard rebase --dry-run -o json ghcr.io/org/app:v2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.req.Image = args[0]
			return runRebase(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.req.OldBase, "old-base", "", "the base to take out (default: the image's verified base)")
	f.StringVar(&o.req.NewBase, "new-base", "", "the base to put in (default: the old base's tag as it is now)")
	f.StringVar(&o.req.Tag, "tag", "", "push the result as this tag of the image's repository")
	f.StringVar(&o.req.To, "to", "", "push the result to this reference")
	f.StringArrayVar(&o.req.Platforms, "platform", nil, "rebase only this platform, os/arch[/variant] (repeatable; the others are kept)")
	f.BoolVar(&o.req.Force, "force", false, "rebase although the policies do not allow the result, or a Buildpacks image is not rebasable or is for another stack")
	f.BoolVar(&o.req.DryRun, "dry-run", false, "compute everything, write nothing")
	f.StringArrayVarP(&o.policies, "policy", "p", nil, "policy file or directory the would-be lineage must pass (repeatable; default: none)")
	f.StringArrayVar(&o.labels, "label", nil, "label KEY=VALUE that rules see on the image (repeatable)")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.StringArrayVar(&o.catalog, "catalog", nil, "known base image, recognised by its layers (repeatable)")
	f.DurationVar(&o.timeout, "timeout", registry.DefaultTimeout, "give up resolving one image's lineage after this long")
	return cmd
}

func runRebase(cmd *cobra.Command, o *rebaseOptions) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("--output %q: want text or json", o.output)
	}
	var set *policy.Set
	if len(o.policies) > 0 {
		var err error
		if set, err = loadPolicies(o.policies); err != nil {
			return err
		}
	}
	labels, err := keyValues("label", o.labels)
	if err != nil {
		return err
	}
	o.req.Labels = labels
	c, err := o.client(set, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	r, err := rebase.NewRebaser(rebase.Options{Lineage: c, Policies: set, UserAgent: "baseguard/" + version})
	if err != nil {
		return err
	}
	res, err := r.Rebase(cmd.Context(), o.req)
	var refused *rebase.Refusal
	if errors.As(err, &refused) {
		writeRefusal(cmd.ErrOrStderr(), refused)
		return errUnchecked
	}
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "baseguard: warning: "+w)
	}
	if o.output == "json" {
		return writeRebaseJSON(cmd.OutOrStdout(), res)
	}
	return writeRebaseText(cmd.OutOrStdout(), res, o.req.DryRun)
}

func writeRefusal(w io.Writer, r *rebase.Refusal) {
	var b strings.Builder
	b.WriteString("baseguard: rebase refused, nothing written:\n")
	for _, reason := range r.Reasons {
		fmt.Fprintf(&b, "  - %s\n", reason)
	}
	if r.Forcible {
		b.WriteString("  (--force rebases anyway)\n")
	}
	io.WriteString(w, b.String())
}

// The JSON contract of rebase.
type rebaseJSON struct {
	Image     string            `json:"image"`
	Result    string            `json:"result"`
	Pushed    bool              `json:"pushed"`
	Current   bool              `json:"current"`
	Platforms []rebasePlatformJ `json:"platforms"`
	Dropped   []string          `json:"dropped"`
	Notes     []string          `json:"notes"`
	Warnings  []string          `json:"warnings"`
}

type rebasePlatformJ struct {
	Platform       string      `json:"platform"`
	Status         string      `json:"status"`
	Digest         string      `json:"digest"`
	OldBase        *rebaseBase `json:"oldBase"`
	NewBase        *rebaseBase `json:"newBase"`
	LayersReplaced int         `json:"layersReplaced"`
	LayersAdded    int         `json:"layersAdded"`
	LayersKept     int         `json:"layersKept"`
}

type rebaseBase struct {
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
}

func writeRebaseJSON(w io.Writer, res *rebase.Result) error {
	out := rebaseJSON{Image: res.Image, Result: res.Result, Pushed: res.Pushed, Current: res.Current,
		Platforms: []rebasePlatformJ{}, Dropped: nonNil(res.Dropped), Notes: nonNil(res.Notes), Warnings: nonNil(res.Warnings)}
	for _, p := range res.Platforms {
		pj := rebasePlatformJ{Platform: p.Platform, Status: string(p.Status), Digest: p.Digest,
			LayersReplaced: p.LayersReplaced, LayersAdded: p.LayersAdded, LayersKept: p.LayersKept}
		if p.Status != rebase.StatusKept {
			pj.OldBase = &rebaseBase{Ref: p.OldBase.Ref, Digest: p.OldBase.Digest}
			pj.NewBase = &rebaseBase{Ref: p.NewBase.Ref, Digest: p.NewBase.Digest}
		}
		out.Platforms = append(out.Platforms, pj)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeRebaseText(w io.Writer, res *rebase.Result, dryRun bool) error {
	var b strings.Builder
	b.WriteString(res.Image + "\n")
	for _, p := range res.Platforms {
		fmt.Fprintf(&b, "\n%s  %s\n", p.Platform, p.Status)
		if p.Status == rebase.StatusKept {
			fmt.Fprintf(&b, "  kept as it was  %s\n", short(p.Digest))
			continue
		}
		fmt.Fprintf(&b, "  old base  %s  %s\n", p.OldBase.Ref, short(p.OldBase.Digest))
		fmt.Fprintf(&b, "  new base  %s  %s\n", p.NewBase.Ref, short(p.NewBase.Digest))
		if p.Status == rebase.StatusRebased {
			fmt.Fprintf(&b, "  layers    %d of the old base replaced by %d of the new, %d of the image's own kept\n", p.LayersReplaced, p.LayersAdded, p.LayersKept)
		}
		fmt.Fprintf(&b, "  result    %s\n", short(p.Digest))
	}
	b.WriteString("\n")
	switch {
	case res.Current:
		fmt.Fprintf(&b, "already current: nothing to do, nothing written (%s)\n", res.Result)
	case dryRun:
		fmt.Fprintf(&b, "dry run, not pushed: %s\n", res.Result)
	default:
		fmt.Fprintf(&b, "pushed %s\n", res.Result)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
