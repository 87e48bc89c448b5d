package admission

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/baseguard/baseguard/policy"
)

// policyStore holds the policy set in force and swaps it atomically when
// the policy files change. A request uses the set it loaded at its start;
// a set that fails to load leaves the previous one in force.
type policyStore struct {
	paths []string
	// accept refuses a set the server cannot apply as written (nil: every
	// set that loads).
	accept func(*policy.Set) error
	set    atomic.Pointer[policy.Set]
	// seen is the content of the files last tried, loaded or not, so a bad
	// file is reported once, not at every check.
	seen []policy.File
	// onLoad, when set, is told of each set reload swaps in.
	onLoad func(*policy.Set)
}

func newPolicyStore(paths []string, accept func(*policy.Set) error) (*policyStore, error) {
	s := &policyStore{paths: paths, accept: accept}
	if len(paths) == 0 {
		set, err := policy.NewSet(policy.Builtin())
		if err != nil {
			return nil, fmt.Errorf("compiling the built-in policy: %w", err)
		}
		if accept != nil {
			if err := accept(set); err != nil {
				return nil, err
			}
		}
		s.set.Store(set)
		return s, nil
	}
	files, err := readPolicyFiles(paths)
	if err != nil {
		return nil, err
	}
	set, err := s.compile(files)
	if err != nil {
		return nil, err
	}
	s.seen = files
	s.set.Store(set)
	return s, nil
}

// Set returns the policy set in force.
func (s *policyStore) Set() *policy.Set { return s.set.Load() }

// reload re-reads the files and swaps in the new set if they changed and
// load. It reports whether a new set is in force.
func (s *policyStore) reload() (bool, error) {
	if len(s.paths) == 0 {
		return false, nil
	}
	files, err := readPolicyFiles(s.paths)
	if err != nil {
		return false, err
	}
	if sameFiles(files, s.seen) {
		return false, nil
	}
	s.seen = files
	set, err := s.compile(files)
	if err != nil {
		return false, err
	}
	s.set.Store(set)
	return true, nil
}

// watch reloads every interval until ctx ends.
func (s *policyStore) watch(ctx context.Context, interval time.Duration, log *slog.Logger, m *metrics) {
	if len(s.paths) == 0 {
		return
	}
	every(ctx, interval, func() {
		switch changed, err := s.reload(); {
		case err != nil:
			m.reloads.WithLabelValues("policy", "error").Inc()
			log.Error("policy files changed but do not load; the previous policies stay in force", "paths", s.paths, "error", err)
		case changed:
			if s.onLoad != nil {
				s.onLoad(s.Set())
			}
			m.reloads.WithLabelValues("policy", "success").Inc()
			log.Info("policies reloaded", "paths", s.paths, "policies", policyNames(s.Set()))
		}
	})
}

func (s *policyStore) compile(files []policy.File) (*policy.Set, error) {
	ps, err := policy.Load(files...)
	if err != nil {
		return nil, err
	}
	if err := policy.ReadKeys(ps, os.ReadFile); err != nil {
		return nil, err
	}
	set, err := policy.NewSet(ps)
	if err != nil {
		return nil, err
	}
	if s.accept != nil {
		if err := s.accept(set); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// readPolicyFiles reads the files named, and the policy files directly in
// the directories named. Dot-files are skipped: a ConfigMap volume keeps
// its previous versions in `..<timestamp>` directories.
func readPolicyFiles(paths []string) ([]policy.File, error) {
	var files []policy.File
	for _, p := range paths {
		names, err := policyFileNames(p)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			data, err := os.ReadFile(name)
			if err != nil {
				return nil, fmt.Errorf("reading policy: %w", err)
			}
			files = append(files, policy.File{Name: name, Data: data})
		}
	}
	return files, nil
}

func policyFileNames(p string) ([]string, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("reading policy directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if strings.HasPrefix(e.Name(), ".") || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		name := filepath.Join(p, e.Name())
		if info, err := os.Stat(name); err == nil && !info.IsDir() {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("reading policy directory %s: no .yaml, .yml or .json files", p)
	}
	return names, nil
}

func sameFiles(a, b []policy.File) bool {
	return slices.EqualFunc(a, b, func(x, y policy.File) bool {
		return x.Name == y.Name && bytes.Equal(x.Data, y.Data)
	})
}

func policyNames(set *policy.Set) []string {
	var names []string
	for _, p := range set.Policies() {
		names = append(names, p.Metadata.Name)
	}
	return names
}

// LoadPolicies loads the policy set a server given paths starts with (the
// built-in policy when paths is empty), for what must be set up before it
// starts, such as the resolver's catalog of known bases.
func LoadPolicies(paths []string) (*policy.Set, error) {
	s, err := newPolicyStore(paths, nil)
	if err != nil {
		return nil, err
	}
	return s.Set(), nil
}

// ErrNoNamespaceLabels is wrapped by the error of a policy set that selects
// namespaces by label where no namespace labels can be read.
var ErrNoNamespaceLabels = errors.New("no namespace labels can be read")

// needNamespaceLabels refuses a set that selects namespaces by label: the
// server has no namespace labels, and was not told to skip those rules.
func needNamespaceLabels(set *policy.Set) error {
	if !set.SelectsNamespaces() {
		return nil
	}
	return fmt.Errorf("%s selects namespaces by label (namespaceSelector), and %w", selectingPolicy(set), ErrNoNamespaceLabels)
}

// selectingPolicy names the first policy that selects namespaces by label.
func selectingPolicy(set *policy.Set) string {
	for _, p := range set.Policies() {
		if one, err := policy.NewSet([]*policy.Policy{p}); err == nil && one.SelectsNamespaces() {
			return fmt.Sprintf("policy %q", p.Metadata.Name)
		}
	}
	return "a policy"
}
