package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/baseguard/baseguard/rebase"
	"github.com/rogpeppe/go-internal/diff"
	"github.com/spf13/cobra"
)

type updateOptions struct {
	policies []string
	labels   []string
	bump     bool
	dryRun   bool
	resolveFlags
}

func newUpdateCmd() *cobra.Command {
	o := &updateOptions{}
	cmd := &cobra.Command{
		Use:   "update PATH...",
		Short: "Pin Dockerfile FROM lines to current approved bases, in place",
		Long: `Rewrite the FROM lines of Dockerfiles in place:

  - each FROM that names a registry image (not scratch, not an earlier
    stage) is pinned as repo:tag@sha256:<what the tag names now>, the index
    digest for a multi-platform tag; a FROM pinned to an older digest gets
    the current one;
  - a FROM the policies deny moves to the newest allowed version in the same
    repository with the same tag shape (3.18 -> 3.21, 3.18-slim ->
    3.21-slim); --bump does that for every FROM;
  - a FROM whose image comes from an ARG gets the ARG's default rewritten.

Every other byte stays as it was: comments, spacing, the case of FROM, line
endings, --platform, AS names, line continuations. A second run changes
nothing. FROM lines that cannot be rewritten (a reference that depends on
the target platform, or is built from several ARGs that would all change)
are named on standard error and left alone. With no --policy the built-in
policy decides what is allowed.

PATH is a Dockerfile or a directory walked for Dockerfile, Containerfile,
*.Dockerfile and Dockerfile.* files; a file given by name is read as a
Dockerfile whatever its name.

Exit status: 0 when done (or, with --dry-run, when nothing would change),
1 with --dry-run when something would change, 2 when something could not be
checked or written.`,
		Example: `  # Pin every FROM under services/ to current approved bases
  baseguard update services/

  # What would change, as a unified diff (exit 1 when something would)
  baseguard update --dry-run services/

  # Move every FROM to the newest version the policy allows
  baseguard update --bump --policy policy.yaml Dockerfile`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUpdate(cmd, o, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.policies, "policy", "p", nil, "policy file or directory (repeatable); default: the built-in policy")
	f.BoolVar(&o.bump, "bump", false, "move every FROM to the newest allowed version with the same tag shape")
	f.BoolVar(&o.dryRun, "dry-run", false, "print a unified diff of what would change; write nothing")
	f.StringArrayVar(&o.labels, "label", nil, "label KEY=VALUE that rules see on Dockerfiles (repeatable)")
	o.resolveFlags.register(f)
	return cmd
}

func runUpdate(cmd *cobra.Command, o *updateOptions, args []string) error {
	if slices.Contains(args, "-") {
		return errors.New("update rewrites files in place: give paths, not -")
	}
	set, err := loadPolicies(o.policies)
	if err != nil {
		return err
	}
	labels, err := keyValues("label", o.labels)
	if err != nil {
		return err
	}
	files, err := dockerfiles(args, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	checker, _, err := o.checker(set, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	changed, failed := false, false
	for _, file := range files {
		u, err := updateFile(cmd.Context(), checker, file, rebase.UpdateOptions{Bump: o.bump, Labels: labels})
		if err != nil {
			fmt.Fprintln(cmd.ErrOrStderr(), "baseguard: "+err.Error())
			failed = true
			continue
		}
		for _, n := range u.Notices {
			fmt.Fprintln(cmd.ErrOrStderr(), "baseguard: note: "+n)
		}
		if !u.Changed() {
			continue
		}
		changed = true
		if err := o.emit(cmd.OutOrStdout(), u); err != nil {
			fmt.Fprintln(cmd.ErrOrStderr(), "baseguard: "+err.Error())
			failed = true
		}
	}
	switch {
	case failed:
		return errUnchecked
	case changed && o.dryRun:
		return errPolicyFailed
	}
	return nil
}

// dockerfiles lists the Dockerfiles among the inputs; a file given by name
// is one whatever its name.
func dockerfiles(args []string, notice io.Writer) ([]string, error) {
	inputs, err := collectInputs(args)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, in := range inputs {
		if in.kind == dockerfileInput || slices.Contains(args, in.name) {
			out = append(out, in.name)
		}
	}
	if len(out) == 0 {
		fmt.Fprintf(notice, "baseguard: warning: no Dockerfile found in %v\n", args)
	}
	return out, nil
}

func updateFile(ctx context.Context, c *rebase.Checker, file string, opt rebase.UpdateOptions) (*rebase.Update, error) {
	data, err := readFile(file)
	if err != nil {
		return nil, err
	}
	df, err := rebase.ParseDockerfile(file, data)
	if err != nil {
		return nil, err
	}
	return c.Update(ctx, df, opt)
}

// emit prints the diff (--dry-run) or writes the file and says what
// changed.
func (o *updateOptions) emit(w io.Writer, u *rebase.Update) error {
	if o.dryRun {
		_, err := w.Write(diff.Diff("a/"+filepath.ToSlash(u.File), u.Old, "b/"+filepath.ToSlash(u.File), u.New))
		return err
	}
	if err := writeInPlace(u.File, u.New); err != nil {
		return fmt.Errorf("writing %s: %w", u.File, err)
	}
	for _, c := range u.Changes {
		fmt.Fprintf(w, "%s:%d: %s -> %s (%s)\n", u.File, c.Line, c.Old, c.New, c.Why)
	}
	return nil
}

// writeInPlace replaces a file's content atomically, keeping its mode;
// a symbolic link is followed, not replaced.
func writeInPlace(name string, data []byte) error {
	path, err := filepath.EvalSymlinks(name)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".baseguard-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
