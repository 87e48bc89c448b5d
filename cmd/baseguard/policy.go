package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/baseguard/baseguard/policy"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Explain, lint and convert policies",
	}
	cmd.AddCommand(newPolicyLintCmd(), newPolicyConvertCmd(), newPolicyDefaultCmd())
	return cmd
}

func newPolicyLintCmd() *cobra.Command {
	var strict bool
	cmd := &cobra.Command{
		Use:   "lint FILE|DIR...",
		Short: "Explain what each rule means and flag risky patterns",
		Long: `Explain in plain words what each rule means under baseguard, every place
where that differs from the literal evaluation by the engine a policy was
written for (Kyverno), and patterns that admit more than they seem to.`,
		Example: `  baseguard policy lint seed-policy.yaml
  baseguard policy lint --strict policies/   # exit 1 on any risky pattern`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := loadPolicies(args)
			if err != nil {
				return err
			}
			risks, err := writeLint(cmd.OutOrStdout(), set.Policies())
			if err == nil && strict && risks > 0 {
				return errPolicyFailed
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&strict, "strict", false, "exit 1 when a pattern is risky")
	return cmd
}

// lintLegend says what the kinds of finding mean.
const lintLegend = `note: where baseguard reads a policy otherwise than the engine it was written for
      (Kyverno): what it widens, what it decides only at admission, what became an error
risk: a pattern that admits more than it seems to
`

// writeLint explains policies and returns how many risks it found.
func writeLint(w io.Writer, ps []*policy.Policy) (int, error) {
	risks, findings := 0, 0
	var b strings.Builder
	for _, p := range ps {
		lint := policy.Lint(p)
		fmt.Fprintf(&b, "%s:%d  policy %s\n", p.File, p.Line, p.Metadata.Name)
		for _, line := range lint.Explanation {
			fmt.Fprintf(&b, "  %s\n", line)
		}
		for _, n := range lint.Findings {
			where := ""
			if n.Rule != "" {
				where = ruleSuffix(n.Rule) + ":"
			}
			fmt.Fprintf(&b, "  %s:%d: %s%s %s\n", p.File, n.Line, n.Kind, where, n.Text)
			if n.Kind == "risk" {
				risks++
			}
			findings++
		}
		b.WriteString("\n")
	}
	if findings > 0 {
		b.WriteString(lintLegend)
	}
	_, err := io.WriteString(w, b.String())
	return risks, err
}

func newPolicyConvertCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "convert FILE|DIR...",
		Short:   "Print the native BaseImagePolicy equivalent of policies",
		Example: `  baseguard policy convert seed-policy.yaml > policy.yaml`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := loadPolicies(args)
			if err != nil {
				return err
			}
			return writeNative(cmd.OutOrStdout(), cmd.ErrOrStderr(), set.Policies())
		},
	}
}

func newPolicyDefaultCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "default",
		Short: "Print the built-in policy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(policy.BuiltinYAML())
			return err
		},
	}
}

// writeNative prints policies as native YAML documents. Notes become
// comments; untranslated rules are left out with a comment and a warning,
// and make it return an error: the output is narrower than its input.
func writeNative(w, warn io.Writer, ps []*policy.Policy) error {
	var b strings.Builder
	left := 0
	for i, p := range ps {
		if i > 0 {
			b.WriteString("---\n")
		}
		fmt.Fprintf(&b, "# converted from %s\n", p.File)
		for _, n := range policy.MergeNotes(p.Notes) {
			fmt.Fprintf(&b, "# note%s: %s\n", ruleSuffix(n.Rule), n.Text)
		}
		out := *p
		out.Spec.Rules = nil
		for _, r := range p.Spec.Rules {
			if r.Untranslated != "" {
				fmt.Fprintf(&b, "# rule %s NOT converted: %s\n", r.Name, r.Untranslated)
				fmt.Fprintf(warn, "baseguard: %s: policy %s rule %s not converted: %s\n", p.File, p.Metadata.Name, r.Name, r.Untranslated)
				left++
				continue
			}
			out.Spec.Rules = append(out.Spec.Rules, r)
		}
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(&out); err != nil {
			return fmt.Errorf("writing policy %s: %w", p.Metadata.Name, err)
		}
		enc.Close()
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if left > 0 {
		return fmt.Errorf("%d rule(s) could not be converted: the policy written lacks them (imported, each is an error wherever it applies)", left)
	}
	return nil
}

func ruleSuffix(rule string) string {
	switch {
	case rule == "":
		return ""
	case strings.Contains(rule, ","):
		return " (rules " + rule + ")"
	}
	return " (rule " + rule + ")"
}
