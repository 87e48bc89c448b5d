package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/render"
	"github.com/baseguard/baseguard/subject"
)

// maxInputBytes bounds one input file: far above any real manifest or
// Dockerfile, far below what would exhaust memory.
const maxInputBytes = 64 << 20

// readBufferSize is how much of an input is read at a time.
const readBufferSize = 64 << 10

// inputKind says how an input is read.
type inputKind int

const (
	manifestInput      inputKind = iota // YAML or JSON documents
	dockerfileInput                     // a Dockerfile
	kustomizationInput                  // a directory built with kustomize
	chartInput                          // a Helm chart directory, rendered
)

// input is one file or directory to check.
type input struct {
	name string
	kind inputKind
}

// collectInputs expands paths: "-" is standard input (manifests); a file
// is a Dockerfile by its name, a kustomization file stands for its
// directory, anything else is a manifest; a directory is walked (walk).
func collectInputs(paths []string) ([]input, error) {
	w := &walker{seen: map[string]bool{}}
	for _, p := range paths {
		if p == "-" {
			w.out = append(w.out, input{name: "-"})
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if info.IsDir() {
			if err := w.walk(p); err != nil {
				return nil, err
			}
			continue
		}
		w.out = append(w.out, fileInput(p))
	}
	return w.withoutReferencedBases(), nil
}

// fileInput classifies a file given on the command line.
func fileInput(p string) input {
	switch base := filepath.Base(p); {
	case subject.IsDockerfile(p):
		return input{name: p, kind: dockerfileInput}
	case slices.Contains(render.KustomizationFiles, base):
		return input{name: filepath.Dir(p), kind: kustomizationInput}
	}
	return input{name: p}
}

// readInput streams one input's subjects to emit. A panic while reading it
// is an error naming it.
func readInput(in input, stdin io.Reader, ro readOptions, emit func(*subject.Subject) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: internal error while reading: %v", in.name, r)
		}
	}()
	switch in.kind {
	case kustomizationInput:
		m, err := render.Kustomization(in.name, render.KustomizationOptions{Timeout: ro.renderTimeout})
		if err != nil {
			return err
		}
		return readRendered([]render.Manifest{m}, ro, emit)
	case chartInput:
		opt := ro.chart
		opt.Timeout = ro.renderTimeout
		ms, err := render.Chart(in.name, opt)
		if err != nil {
			return err
		}
		return readRendered(ms, ro, emit)
	}
	r := stdin
	if in.name != "-" {
		f, err := os.Open(in.name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	// The YAML parser reads 512 bytes at a time: buffer the file.
	r = bufio.NewReaderSize(&boundedReader{r: r, name: in.name, left: maxInputBytes}, readBufferSize)
	if in.kind == dockerfileInput {
		subs, err := subject.ReadBuild(in.name, r, ro.dockerfile)
		if err != nil {
			return err
		}
		for i := range subs {
			if err := emit(&subs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return readManifests(in.name, r, ro.manifests, emit)
}

func readManifests(name string, r io.Reader, mopt subject.Options, emit func(*subject.Subject) error) error {
	return subject.ReadManifests(name, r, mopt, func(_ *subject.Resource, ss []subject.Subject) error {
		for i := range ss {
			if err := emit(&ss[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// readRendered reads rendered manifests. Their line numbers are those of
// the rendered output, not of any file: results name the kustomization or
// the chart template, and the object, without a line.
func readRendered(ms []render.Manifest, ro readOptions, emit func(*subject.Subject) error) error {
	for _, m := range ms {
		err := readManifests(m.Source, bytes.NewReader(m.Data), ro.manifests, func(s *subject.Subject) error {
			s.Line, s.Column, s.Resource.Line = 0, 0, 0
			return emit(s)
		})
		if err != nil {
			return fmt.Errorf("reading what %s renders: %w", m.Source, err)
		}
	}
	return nil
}

// readFile reads a whole file, bounded by maxInputBytes.
func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(&boundedReader{r: f, name: name, left: maxInputBytes})
}

// boundedReader fails a read past its limit, so an endless or huge input
// is an error rather than exhausted memory.
type boundedReader struct {
	r    io.Reader
	name string
	left int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("%s: larger than %d MiB", b.name, maxInputBytes>>20)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// loadPolicies loads policy files and directories; with none, the
// built-in policy.
func loadPolicies(paths []string) (*policy.Set, error) {
	if len(paths) == 0 {
		return policy.NewSet(policy.Builtin())
	}
	var files []policy.File
	for _, p := range paths {
		fs, err := policyFiles(p)
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	ps, err := policy.Load(files...)
	if err != nil {
		return nil, err
	}
	if err := policy.ReadKeys(ps, os.ReadFile); err != nil {
		return nil, err
	}
	return policy.NewSet(ps)
}

func policyFiles(p string) ([]policy.File, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	var names []string
	if info.IsDir() {
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := strings.ToLower(filepath.Ext(path))
			if !d.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
				names = append(names, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%s: no policy files (.yaml, .yml, .json)", p)
		}
	} else {
		names = []string{p}
	}
	var files []policy.File
	for _, n := range names {
		data, err := readFile(n)
		if err != nil {
			return nil, err
		}
		files = append(files, policy.File{Name: n, Data: data})
	}
	return files, nil
}

// keyValues parses repeated k=v flags.
func keyValues(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, errors.New("--" + flag + " " + kv + ": want KEY=VALUE")
		}
		m[k] = v
	}
	return m, nil
}
