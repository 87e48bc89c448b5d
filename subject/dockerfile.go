package subject

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
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
	// Platform fills TARGETPLATFORM and BUILDPLATFORM for ReadDockerfile;
	// default linux/amd64.
	Platform string
	// Platforms are the platforms ReadBuild judges the build for; empty
	// means Platform, or DefaultPlatforms when that is empty too.
	Platforms []string
}

// defaultPlatform is what $TARGETPLATFORM means when no platform is given:
// the most common build target.
const defaultPlatform = "linux/amd64"

// DefaultPlatforms are the platforms a build is judged for when none is
// given: the two that nearly every multi-platform image is built for.
var DefaultPlatforms = []string{"linux/amd64", "linux/arm64"}

// maxStageHops bounds how many stage aliases are followed; a Dockerfile
// cannot refer to a later stage, so this only guards malformed input.
const maxStageHops = 1000

// The BuildInput values: how a build pulls an image in besides its base.
const (
	InputCopyFrom  = "COPY --from"
	InputRunMount  = "RUN --mount"
	InputSyntax    = "# syntax"
	InputStageBase = "FROM"
)

// dockerfileFrontend is the frontend a `# syntax=` directive may name
// without pulling a third-party image into the build.
const dockerfileFrontend = "docker.io/docker/dockerfile"

// IsDockerfile reports whether a file name is a Dockerfile's: Dockerfile,
// Containerfile (either in lower case too), *.Dockerfile, *.Containerfile,
// Dockerfile.*, Dockerfile-*, Dockerfile_* and the same for Containerfile.
// The last ones are matched with their capital, as Docker writes them, so
// that dockerfile.go is not one.
func IsDockerfile(name string) bool {
	base := path.Base(strings.ReplaceAll(name, "\\", "/"))
	lower := strings.ToLower(base)
	switch {
	case lower == "dockerfile", lower == "containerfile":
		return true
	case strings.HasSuffix(lower, ".dockerfile"), strings.HasSuffix(lower, ".containerfile"):
		return true
	}
	for _, stem := range []string{"Dockerfile", "Containerfile"} {
		for _, sep := range []string{".", "-", "_"} {
			if strings.HasPrefix(base, stem+sep) && len(base) > len(stem)+1 {
				return !strings.HasSuffix(lower, ".dockerignore")
			}
		}
	}
	return false
}

// ReadDockerfile parses a Dockerfile and returns the subject for the base
// of its shipped stage, built for opt.Platform.
func ReadDockerfile(file string, r io.Reader, opt DockerfileOptions) (Subject, error) {
	opt.Platforms = []string{opt.Platform}
	if opt.Platform == "" {
		opt.Platforms = []string{defaultPlatform}
	}
	subs, err := ReadBuild(file, r, opt)
	if err != nil {
		return Subject{}, err
	}
	return subs[0], nil
}

// ReadBuild parses a Dockerfile and returns every image its build uses:
// first the shipped stage's base, then the images the build pulls in
// (BuildInput set). Each is judged once when it is the same for every
// platform in opt.Platforms, else once per platform, with Platform saying
// which.
func ReadBuild(file string, r io.Reader, opt DockerfileOptions) (subs []Subject, err error) {
	defer recoverAsError(file, &err)
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, &Error{File: file, Msg: "reading: " + err.Error()}
	}
	df, err := parseDockerfile(file, src)
	if err != nil {
		return nil, err
	}
	platforms := opt.Platforms
	if len(platforms) == 0 && opt.Platform != "" {
		platforms = []string{opt.Platform}
	}
	if len(platforms) == 0 {
		platforms = DefaultPlatforms
	}
	perPlatform := make([][]Subject, len(platforms))
	res := dockerfileResource(file, opt)
	for i, p := range platforms {
		b := build{file: file, df: df, opt: opt, platform: p, res: res}
		if perPlatform[i], err = b.subjects(); err != nil {
			return nil, err
		}
	}
	return mergePlatforms(platforms, perPlatform), nil
}

// dockerfile is a parsed Dockerfile.
type dockerfile struct {
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	lex      *shell.Lex
	syntax   string
	syntaxAt int
}

func parseDockerfile(file string, src []byte) (*dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, dockerfileError(file, err)
	}
	// A linter that reports nothing: without one, BuildKit's parser
	// dereferences nil on `# check=` directives.
	stages, metaArgs, err := instructions.Parse(res.AST, linter.New(&linter.Config{}))
	if err != nil {
		return nil, dockerfileError(file, err)
	}
	if len(stages) == 0 {
		return nil, &Error{File: file, Msg: "no FROM instruction"}
	}
	df := &dockerfile{stages: stages, metaArgs: metaArgs, lex: shell.NewLex(res.EscapeToken)}
	if syntax, _, loc, ok := parser.DetectSyntax(src); ok {
		df.syntax = syntax
		if len(loc) > 0 {
			df.syntaxAt = loc[0].Start.Line
		}
	}
	return df, nil
}

// mergePlatforms keeps one subject for what every platform judges alike,
// and each platform's own otherwise.
func mergePlatforms(platforms []string, per [][]Subject) []Subject {
	type key struct {
		input, field, image, platform, stage string
		line                                 int
	}
	keyOf := func(s Subject) key { return key{s.BuildInput, s.Field, s.Image, s.Platform, s.Container, s.Line} }
	count := map[key]int{}
	for _, subs := range per {
		seen := map[key]bool{}
		for _, s := range subs {
			if k := keyOf(s); !seen[k] {
				seen[k] = true
				count[k]++
			}
		}
	}
	var out []Subject
	done := map[key]bool{}
	for i, subs := range per {
		for _, s := range subs {
			k := keyOf(s)
			if count[k] == len(platforms) {
				if !done[k] {
					done[k] = true
					s.Platforms = platforms
					out = append(out, s)
				}
				continue
			}
			if s.Platform == "" {
				s.Platform = platforms[i]
			}
			s.Platforms = platforms[i : i+1]
			out = append(out, s)
		}
	}
	// The shipped base first, as ReadDockerfile returns it.
	for i, s := range out {
		if s.BuildInput == "" {
			copy(out[1:i+1], out[:i])
			out[0] = s
			break
		}
	}
	return out
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
