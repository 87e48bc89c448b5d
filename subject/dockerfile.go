package subject

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/baseguard/baseguard/lineage"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// DockerfileOptions say how a Dockerfile would be built.
type DockerfileOptions struct {
	// BuildArgs override the defaults of global ARGs (--build-arg).
	BuildArgs map[string]string
	// Target is the stage to ship (--target); empty ships the last.
	Target string
	// Labels are the labels rules see, as if on a Pod (--label).
	Labels map[string]string
	// Platform fills TARGETPLATFORM and BUILDPLATFORM; default linux/amd64.
	Platform string
}

// defaultPlatform is what $TARGETPLATFORM means when no platform is given:
// the most common build target.
const defaultPlatform = "linux/amd64"

// maxStageHops bounds how many stage aliases are followed; a Dockerfile
// cannot refer to a later stage, so this only guards malformed input.
const maxStageHops = 1000

// IsDockerfile reports whether a file name is a Dockerfile's: Dockerfile,
// Containerfile (either in lower case too), *.Dockerfile, *.Containerfile,
// Dockerfile.* and Containerfile.*. The last two are matched with their
// capital, as Docker writes them, so that dockerfile.go is not one.
func IsDockerfile(name string) bool {
	base := path.Base(strings.ReplaceAll(name, "\\", "/"))
	lower := strings.ToLower(base)
	switch {
	case lower == "dockerfile", lower == "containerfile":
		return true
	case strings.HasSuffix(lower, ".dockerfile"), strings.HasSuffix(lower, ".containerfile"):
		return true
	case strings.HasPrefix(base, "Dockerfile."), strings.HasPrefix(base, "Containerfile."):
		return !strings.HasSuffix(lower, ".dockerignore")
	}
	return false
}

// ReadDockerfile parses a Dockerfile and returns the subject for the base
// of its shipped stage.
func ReadDockerfile(file string, r io.Reader, opt DockerfileOptions) (Subject, error) {
	res, err := parser.Parse(r)
	if err != nil {
		return Subject{}, dockerfileError(file, err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return Subject{}, dockerfileError(file, err)
	}
	if len(stages) == 0 {
		return Subject{}, &Error{File: file, Msg: "no FROM instruction"}
	}
	lex := shell.NewLex(res.EscapeToken)
	env, err := globalArgs(lex, metaArgs, opt)
	if err != nil {
		return Subject{}, &Error{File: file, Msg: err.Error()}
	}
	shipped, err := shippedStage(stages, opt.Target)
	if err != nil {
		return Subject{}, &Error{File: file, Msg: err.Error()}
	}
	return followBase(file, lex, env, stages, shipped, opt)
}

func shippedStage(stages []instructions.Stage, target string) (int, error) {
	if target == "" {
		return len(stages) - 1, nil
	}
	for i, st := range stages {
		if strings.EqualFold(st.Name, target) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("target stage %q not found", target)
}

// followBase walks from the shipped stage through stage aliases to the
// image it is built on.
func followBase(file string, lex *shell.Lex, env shell.EnvGetter, stages []instructions.Stage, i int, opt DockerfileOptions) (Subject, error) {
	shipped := stages[i]
	for hop := 0; hop < maxStageHops; hop++ {
		st := stages[i]
		line := stageLine(st)
		base, err := lex.ProcessWordWithMatches(st.BaseName, env)
		if err != nil {
			return Subject{}, &Error{File: file, Line: line, Msg: fmt.Sprintf("expanding FROM %s: %v", st.BaseName, err)}
		}
		name := base.Result
		if name == "" {
			return Subject{}, &Error{File: file, Line: line, Msg: fmt.Sprintf("FROM %s expands to nothing: give the ARG a default or pass --build-arg", st.BaseName)}
		}
		if j := stageIndex(stages[:i], name); j >= 0 {
			i = j
			continue
		}
		platform, _ := lex.ProcessWordWithMatches(st.Platform, env)
		sub := Subject{
			Resource: &Resource{
				Kind:   KindDockerfile,
				Name:   file,
				File:   file,
				Labels: opt.Labels,
				// A Dockerfile is judged as a Pod with no labels, in a
				// namespace with none.
				NamespaceLabels: map[string]string{},
			},
			Container: shipped.Name,
			Field:     "FROM",
			Image:     name,
			Line:      line,
			Source:    lineage.SourceDockerfile,
			Platform:  platform.Result,
			Scratch:   strings.EqualFold(name, "scratch"),
		}
		return sub, nil
	}
	return Subject{}, &Error{File: file, Msg: "stage aliases form a loop"}
}

// stageIndex finds an earlier stage named name (stage names are
// case-insensitive), or -1.
func stageIndex(stages []instructions.Stage, name string) int {
	for j := len(stages) - 1; j >= 0; j-- {
		if stages[j].Name != "" && strings.EqualFold(stages[j].Name, name) {
			return j
		}
	}
	return -1
}

func stageLine(st instructions.Stage) int {
	if len(st.Location) > 0 {
		return st.Location[0].Start.Line
	}
	return 0
}

// globalArgs evaluates the ARGs before the first FROM: each default is
// expanded with the ARGs before it, and a build argument overrides it.
// BuildKit's automatic platform ARGs are predefined.
func globalArgs(lex *shell.Lex, metaArgs []instructions.ArgCommand, opt DockerfileOptions) (shell.EnvGetter, error) {
	platform := opt.Platform
	if platform == "" {
		platform = defaultPlatform
	}
	osName, arch, _ := strings.Cut(platform, "/")
	arch, variant, _ := strings.Cut(arch, "/")
	vals := map[string]string{
		"TARGETPLATFORM": platform, "TARGETOS": osName, "TARGETARCH": arch, "TARGETVARIANT": variant,
		"BUILDPLATFORM": platform, "BUILDOS": osName, "BUILDARCH": arch, "BUILDVARIANT": variant,
	}
	env := func() shell.EnvGetter {
		kv := make([]string, 0, len(vals))
		for k, v := range vals {
			kv = append(kv, k+"="+v)
		}
		return shell.EnvsFromSlice(kv)
	}
	for _, cmd := range metaArgs {
		for _, a := range cmd.Args {
			if v, ok := opt.BuildArgs[a.Key]; ok {
				vals[a.Key] = v
				continue
			}
			if a.Value == nil {
				vals[a.Key] = ""
				continue
			}
			v, err := lex.ProcessWordWithMatches(*a.Value, env())
			if err != nil {
				return nil, fmt.Errorf("expanding ARG %s: %w", a.Key, err)
			}
			vals[a.Key] = v.Result
		}
	}
	return env(), nil
}

func dockerfileError(file string, err error) error {
	e := &Error{File: file, Msg: err.Error()}
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		e.Line = le.Locations[0][0].Start.Line
		e.Msg = errors.Unwrap(le).Error()
		if e.Msg == "" {
			e.Msg = err.Error()
		}
	}
	return e
}
