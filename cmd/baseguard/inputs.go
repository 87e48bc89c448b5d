package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
)

// maxInputBytes bounds one input file: far above any real manifest or
// Dockerfile, far below what would exhaust memory.
const maxInputBytes = 64 << 20

// readBufferSize is how much of an input is read at a time.
const readBufferSize = 64 << 10

// input is one file to check.
type input struct {
	name       string
	dockerfile bool
}

// collectInputs expands paths: "-" is standard input (manifests), a
// directory is walked for manifests (.yaml, .yml, .json) and Dockerfiles,
// a file is a Dockerfile by its name and a manifest otherwise. Helm chart
// sources cannot be checked unrendered; they are skipped with a notice.
func collectInputs(paths []string, notice io.Writer) ([]input, error) {
	var out []input
	for _, p := range paths {
		if p == "-" {
			out = append(out, input{name: "-"})
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, input{name: p, dockerfile: subject.IsDockerfile(p)})
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				if _, err := os.Stat(filepath.Join(path, "Chart.yaml")); err == nil {
					fmt.Fprintf(notice, "baseguard: skipping Helm chart %s: check its output with `helm template %s | baseguard check -`\n", path, path)
					return filepath.SkipDir
				}
				return nil
			}
			switch ext := strings.ToLower(filepath.Ext(path)); {
			case subject.IsDockerfile(path):
				out = append(out, input{name: path, dockerfile: true})
			case ext == ".yaml" || ext == ".yml" || ext == ".json":
				out = append(out, input{name: path})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readInput streams one input's subjects to emit, reading at most
// maxInputBytes.
func readInput(in input, stdin io.Reader, mopt subject.Options, dopt subject.DockerfileOptions, emit func(*subject.Subject) error) error {
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
	if in.dockerfile {
		s, err := subject.ReadDockerfile(in.name, r, dopt)
		if err != nil {
			return err
		}
		return emit(&s)
	}
	return subject.ReadManifests(in.name, r, mopt, func(_ *subject.Resource, ss []subject.Subject) error {
		for i := range ss {
			if err := emit(&ss[i]); err != nil {
				return err
			}
		}
		return nil
	})
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
