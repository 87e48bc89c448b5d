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
	"sync"
	"sync/atomic"
	"time"

	"github.com/baseguard/baseguard/policy"
)

// policyStore holds the policy set in force and swaps it atomically when
// the policy files or the policy objects change. A request uses the set it
// loaded at its start; files that fail to load leave the previous files'
// policies in force. The set is the files' policies and the objects' in
// force (ClusterPolicies); the built-in policy when neither gives one.
type policyStore struct {
	paths []string
	// accept refuses a set the server cannot apply as written (nil: every
	// set that loads).
	accept func(*policy.Set) error
	// cluster gives the policy objects' policies (nil: none watched).
	cluster *ClusterPolicies
	// mu serializes compositions and guards files.
	mu sync.Mutex
	// files are the policies of the files as last loaded.
	files   []*policy.Policy
	set     atomic.Pointer[policy.Set]
	builtin atomic.Bool // whether the set is the built-in policy
	// seen is the content of the files last tried, loaded or not, so a bad
	// file is reported once, not at every check.
	seen []policy.File
	// onLoad, when set, is told of each set reload swaps in.
	onLoad func(*policy.Set)
}

func newPolicyStore(paths []string, accept func(*policy.Set) error, cluster *ClusterPolicies) (*policyStore, error) {
	s := &policyStore{paths: paths, accept: accept, cluster: cluster}
	if len(paths) > 0 {
		files, err := readPolicyFiles(paths)
		if err != nil {
			return nil, err
		}
		if s.files, err = s.loadFiles(files); err != nil {
			return nil, err
		}
		s.seen = files
	}
	if err := s.compose(); err != nil {
		return nil, err
	}
	return s, nil
}

// Set returns the policy set in force.
func (s *policyStore) Set() *policy.Set { return s.set.Load() }

// builtinInForce reports whether the set in force is the built-in policy.
func (s *policyStore) builtinInForce() bool { return s.builtin.Load() }

// compose makes the set in force of the files' policies and the objects'
// whose names the files leave free; the built-in policy when there are
// none and no policy files are given.
func (s *policyStore) compose() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := append([]*policy.Policy(nil), s.files...)
	if s.cluster != nil {
		reserved := map[string]string{}
		for _, p := range s.files {
			reserved[p.Metadata.Name] = p.File
		}
		ps = append(ps, s.cluster.policiesInForce(reserved)...)
	}
	builtin := len(s.paths) == 0 && len(ps) == 0
	if builtin {
		ps = policy.Builtin()
	}
	set, err := policy.NewSet(ps)
	if err != nil {
		return fmt.Errorf("compiling the policies in force: %w", err)
	}
	if s.accept != nil {
		if err := s.accept(set); err != nil {
			return err
		}
	}
	s.set.Store(set)
	s.builtin.Store(builtin)
	return nil
}

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
	ps, err := s.loadFiles(files)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	s.files = ps
	s.mu.Unlock()
	if err := s.compose(); err != nil {
		return false, err
	}
	if s.cluster != nil {
		s.cluster.recheck() // the names the files take may have changed
	}
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

// loadFiles loads and compiles the policies of files, reading the keys
// they name by path.
func (s *policyStore) loadFiles(files []policy.File) ([]*policy.Policy, error) {
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
	return ps, nil
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
	s, err := newPolicyStore(paths, nil, nil)
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
