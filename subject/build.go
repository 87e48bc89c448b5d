package subject

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// build is one Dockerfile built for one platform.
type build struct {
	file     string
	df       *dockerfile
	opt      DockerfileOptions
	platform string

	vals map[string]string
	env  shell.EnvGetter
	res  *Resource
}

func dockerfileResource(file string, opt DockerfileOptions) *Resource {
	return &Resource{
		Kind:   KindDockerfile,
		Name:   file,
		File:   file,
		Labels: opt.Labels,
		// A Dockerfile is judged as a Pod with no labels, in a namespace
		// with none.
		NamespaceLabels: map[string]string{},
	}
}

// subjects returns the shipped base and the build inputs for b.platform.
func (b *build) subjects() ([]Subject, error) {
	vals, err := globalArgs(b.df.lex, b.df.metaArgs, b.opt.BuildArgs, b.platform)
	if err != nil {
		return nil, &Error{File: b.file, Msg: err.Error()}
	}
	b.vals, b.env = vals, envOf(vals)
	stages := b.df.stages
	shipped, err := shippedStage(stages, b.opt.Target)
	if err != nil {
		return nil, &Error{File: b.file, Msg: err.Error()}
	}
	base, chain, err := b.followBase(shipped)
	if err != nil {
		return nil, err
	}
	base.Container = stages[shipped].Name
	subs := []Subject{base}
	inputs, err := b.inputs(shipped, chain)
	if err != nil {
		return nil, err
	}
	return append(subs, inputs...), nil
}

// followBase walks from stage i through stage aliases to the image it is
// built on; chain holds the stages walked.
func (b *build) followBase(i int) (Subject, map[int]bool, error) {
	chain := map[int]bool{}
	stages := b.df.stages
	for hop := 0; hop < maxStageHops; hop++ {
		chain[i] = true
		st := stages[i]
		line := stageLine(st)
		name, err := b.expand(st.BaseName, line, "FROM")
		if err != nil {
			return Subject{}, nil, err
		}
		if j := stageIndex(stages[:i], name); j >= 0 {
			i = j
			continue
		}
		platform, _ := b.df.lex.ProcessWordWithMatches(st.Platform, b.env)
		return Subject{
			Resource: b.res,
			Field:    "FROM",
			Image:    name,
			Line:     line,
			Source:   lineage.SourceDockerfile,
			Platform: platform.Result,
			Scratch:  strings.EqualFold(name, "scratch"),
		}, chain, nil
	}
	return Subject{}, nil, &Error{File: b.file, Msg: "stage aliases form a loop"}
}

// expand substitutes ARGs in word; an empty result is an error.
func (b *build) expand(word string, line int, what string) (string, error) {
	got, err := b.df.lex.ProcessWordWithMatches(word, b.env)
	if err != nil {
		return "", &Error{File: b.file, Line: line, Msg: fmt.Sprintf("expanding %s %s: %v", what, word, err)}
	}
	if got.Result == "" {
		return "", &Error{File: b.file, Line: line, Msg: fmt.Sprintf("%s %s expands to nothing: give the ARG a default or pass --build-arg", what, word)}
	}
	return got.Result, nil
}

// inputs returns the images the build of the shipped stage pulls in
// besides its base: bases of the stages it uses, COPY --from and RUN
// --mount images, and a third-party `# syntax` frontend.
func (b *build) inputs(shipped int, chain map[int]bool) ([]Subject, error) {
	var out []Subject
	if s, ok := b.syntaxInput(); ok {
		out = append(out, s)
	}
	stages := b.df.stages
	visited := map[int]bool{}
	queue := []int{shipped}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		if visited[i] {
			continue
		}
		visited[i] = true
		st := stages[i]
		name, err := b.expand(st.BaseName, stageLine(st), "FROM")
		if err != nil {
			return nil, err
		}
		if j := stageIndex(stages[:i], name); j >= 0 {
			queue = append(queue, j)
		} else if !chain[i] && !strings.EqualFold(name, "scratch") {
			out = append(out, b.input(InputStageBase, st.Name, name, stageLine(st)))
		}
		for _, cmd := range st.Commands {
			froms, err := b.commandFroms(cmd)
			if err != nil {
				return nil, err
			}
			for _, f := range froms {
				if j := b.stageRef(f.ref); j >= 0 {
					queue = append(queue, j)
					continue
				}
				out = append(out, b.input(f.how, st.Name, f.ref, f.line))
			}
		}
	}
	return out, nil
}

// from is an image or stage a command takes files from.
type from struct {
	how, ref string
	line     int
}

// commandFroms returns what COPY --from and RUN --mount from= name.
func (b *build) commandFroms(cmd instructions.Command) ([]from, error) {
	line := 0
	if loc := cmd.Location(); len(loc) > 0 {
		line = loc[0].Start.Line
	}
	var raw []from
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		if c.From != "" {
			raw = append(raw, from{InputCopyFrom, c.From, line})
		}
	case *instructions.RunCommand:
		for _, m := range instructions.GetMounts(c) {
			if m.From != "" && (m.Type == instructions.MountTypeBind || m.Type == instructions.MountTypeCache) {
				raw = append(raw, from{InputRunMount, m.From, line})
			}
		}
	}
	for i := range raw {
		ref, err := b.expand(raw[i].ref, line, raw[i].how)
		if err != nil {
			return nil, err
		}
		raw[i].ref = ref
	}
	return raw, nil
}

// stageRef returns the stage a --from names (by name or index), or -1.
func (b *build) stageRef(ref string) int {
	stages := b.df.stages
	if n, err := strconv.Atoi(ref); err == nil && n >= 0 && n < len(stages) {
		return n
	}
	return stageIndex(stages, ref)
}

func (b *build) input(how, stage, image string, line int) Subject {
	return Subject{
		Resource:   b.res,
		Container:  stage,
		Field:      how,
		Image:      image,
		Line:       line,
		Source:     lineage.SourceDockerfile,
		BuildInput: how,
	}
}

// syntaxInput is the frontend image of a `# syntax=` directive, unless it
// is Docker's own Dockerfile frontend.
func (b *build) syntaxInput() (Subject, bool) {
	if b.df.syntax == "" {
		return Subject{}, false
	}
	if ref, err := imageref.Parse(b.df.syntax); err == nil && ref.Name() == dockerfileFrontend {
		return Subject{}, false
	}
	return b.input(InputSyntax, "", b.df.syntax, b.df.syntaxAt), true
}

// globalArgs evaluates the ARGs before the first FROM: each default is
// expanded with the ARGs before it, and a build argument overrides it.
// BuildKit's automatic platform ARGs are predefined.
func globalArgs(lex *shell.Lex, metaArgs []instructions.ArgCommand, buildArgs map[string]string, platform string) (map[string]string, error) {
	if platform == "" {
		platform = defaultPlatform
	}
	osName, arch, _ := strings.Cut(platform, "/")
	arch, variant, _ := strings.Cut(arch, "/")
	vals := map[string]string{
		"TARGETPLATFORM": platform, "TARGETOS": osName, "TARGETARCH": arch, "TARGETVARIANT": variant,
		"BUILDPLATFORM": platform, "BUILDOS": osName, "BUILDARCH": arch, "BUILDVARIANT": variant,
	}
	for _, cmd := range metaArgs {
		for _, a := range cmd.Args {
			if v, ok := buildArgs[a.Key]; ok {
				vals[a.Key] = v
				continue
			}
			if a.Value == nil {
				if _, predefined := vals[a.Key]; !predefined {
					vals[a.Key] = ""
				}
				continue
			}
			v, err := lex.ProcessWordWithMatches(*a.Value, envOf(vals))
			if err != nil {
				return nil, fmt.Errorf("expanding ARG %s: %w", a.Key, err)
			}
			vals[a.Key] = v.Result
		}
	}
	return vals, nil
}

func envOf(vals map[string]string) shell.EnvGetter {
	kv := make([]string, 0, len(vals))
	for k, v := range vals {
		kv = append(kv, k+"="+v)
	}
	return shell.EnvsFromSlice(kv)
}
