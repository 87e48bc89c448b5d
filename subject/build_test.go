package subject

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// buildSubjects renders ReadBuild's subjects as "field image [platform] (stage) line".
func buildSubjects(t *testing.T, src string, opt DockerfileOptions) []string {
	t.Helper()
	subs, err := ReadBuild("Dockerfile", strings.NewReader(src), opt)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range subs {
		line := fmt.Sprintf("%s %s", s.Field, s.Image)
		if s.Platform != "" {
			line += " [" + s.Platform + "]"
		}
		if s.Container != "" {
			line += " (" + s.Container + ")"
		}
		if s.BuildInput != "" && s.BuildInput != s.Field {
			t.Errorf("BuildInput %q but field %q", s.BuildInput, s.Field)
		}
		out = append(out, fmt.Sprintf("%s :%d", line, s.Line))
	}
	return out
}

func TestReadBuildPlatforms(t *testing.T) {
	two := DockerfileOptions{Platforms: []string{"linux/amd64", "linux/arm64"}}
	tests := []struct {
		name string
		src  string
		opt  DockerfileOptions
		want []string
	}{
		{"independent FROM is judged once", "FROM alpine:3.19\n", DockerfileOptions{}, []string{"FROM alpine:3.19 :1"}},
		{"TARGETARCH in the name", "ARG TARGETARCH\nFROM registry.example.com/base-${TARGETARCH}:1\n", DockerfileOptions{}, []string{"FROM registry.example.com/base-amd64:1 [linux/amd64] :2", "FROM registry.example.com/base-arm64:1 [linux/arm64] :2"}},
		{"TARGETOS through another ARG", "ARG TARGETOS\nARG IMG=img-${TARGETOS}\nFROM ${IMG}\n", DockerfileOptions{Platforms: []string{"linux/amd64", "windows/amd64"}}, []string{"FROM img-linux [linux/amd64] :3", "FROM img-windows [windows/amd64] :3"}},
		{"TARGETVARIANT", "FROM arm32${TARGETVARIANT}/alpine\n", DockerfileOptions{Platforms: []string{"linux/arm/v6", "linux/arm/v7"}}, []string{"FROM arm32v6/alpine [linux/arm/v6] :1", "FROM arm32v7/alpine [linux/arm/v7] :1"}},
		{"--platform=$TARGETPLATFORM", "FROM --platform=$TARGETPLATFORM alpine\n", two, []string{"FROM alpine [linux/amd64] :1", "FROM alpine [linux/arm64] :1"}},
		{"BUILDARCH builder, independent final", "FROM --platform=$BUILDPLATFORM golang:1-${BUILDARCH} AS build\nFROM alpine\nCOPY --from=build /a /a\n", two, []string{"FROM alpine :2", "FROM golang:1-amd64 [linux/amd64] (build) :1", "FROM golang:1-arm64 [linux/arm64] (build) :1"}},
		{"one platform given", "FROM base-${TARGETARCH}\n", DockerfileOptions{Platforms: []string{"linux/s390x"}}, []string{"FROM base-s390x :1"}},
		{"build-arg fixes the arch", "ARG TARGETARCH\nFROM base-${TARGETARCH}\n", DockerfileOptions{BuildArgs: map[string]string{"TARGETARCH": "riscv64"}}, []string{"FROM base-riscv64 :2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, buildSubjects(t, tt.src, tt.opt)); diff != "" {
				t.Errorf("subjects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadBuildInputs(t *testing.T) {
	one := DockerfileOptions{Platforms: []string{"linux/amd64"}}
	tests := []struct {
		name string
		src  string
		opt  DockerfileOptions
		want []string
	}{
		{"COPY --from an image", "FROM alpine\nCOPY --from=centos:7 /bin/sh /sh\n", one, []string{"FROM alpine :1", "COPY --from centos:7 :2"}},
		{"COPY --from a stage uses its base", "FROM golang:1.23 AS build\nRUN go build\nFROM alpine\nCOPY --from=build /app /app\n", one, []string{"FROM alpine :3", "FROM golang:1.23 (build) :1"}},
		{"COPY --from a stage index", "FROM golang:1.23\nFROM alpine\nCOPY --from=0 /app /app\n", one, []string{"FROM alpine :2", "FROM golang:1.23 :1"}},
		{"stages the target does not use are not inputs", "FROM centos:7 AS unused\nFROM alpine\nRUN true\n", one, []string{"FROM alpine :2"}},
		{"stages used through stages", "FROM debian AS a\nFROM busybox AS b\nCOPY --from=a / /\nFROM alpine\nCOPY --from=b / /\n", one, []string{"FROM alpine :4", "FROM busybox (b) :2", "FROM debian (a) :1"}},
		{"RUN --mount from an image", "FROM alpine\nRUN --mount=type=bind,from=centos:7,target=/c cp /c/x /x\n", one, []string{"FROM alpine :1", "RUN --mount centos:7 :2"}},
		{"RUN --mount default type is bind", "FROM alpine\nRUN --mount=from=debian:12,target=/d true\n", one, []string{"FROM alpine :1", "RUN --mount debian:12 :2"}},
		{"RUN --mount cache from", "FROM alpine\nRUN --mount=type=cache,from=ubuntu:18.04,target=/c true\n", one, []string{"FROM alpine :1", "RUN --mount ubuntu:18.04 :2"}},
		{"RUN --mount secret has no image", "FROM alpine\nRUN --mount=type=secret,id=x true\n", one, []string{"FROM alpine :1"}},
		{"RUN --mount from a stage", "FROM debian AS tools\nFROM alpine\nRUN --mount=from=tools,target=/t true\n", one, []string{"FROM alpine :2", "FROM debian (tools) :1"}},
		{"ARG in --from", "ARG TOOLS=centos:7\nFROM alpine\nCOPY --from=${TOOLS} / /\n", one, []string{"FROM alpine :2", "COPY --from centos:7 :3"}},
		{"third-party syntax", "# syntax=registry.evil.io/frontend:1\nFROM alpine\n", one, []string{"FROM alpine :2", "# syntax registry.evil.io/frontend:1 :1"}},
		{"docker/dockerfile syntax", "# syntax=docker/dockerfile:1.7\nFROM alpine\n", one, []string{"FROM alpine :2"}},
		{"docker.io/docker/dockerfile syntax", "# syntax=docker.io/docker/dockerfile:1\nFROM alpine\n", one, []string{"FROM alpine :2"}},
		{"shipped base after its aliases", "FROM centos:7 AS base\nFROM base\nCOPY --from=debian / /\n", one, []string{"FROM centos:7 :1", "COPY --from debian :3"}},
		{"scratch stage", "FROM scratch AS empty\nFROM alpine\nCOPY --from=empty / /\n", one, []string{"FROM alpine :2"}},
		{"inputs per platform", "FROM alpine\nCOPY --from=tools-${TARGETARCH} / /\n", DockerfileOptions{}, []string{"FROM alpine :1", "COPY --from tools-amd64 [linux/amd64] :2", "COPY --from tools-arm64 [linux/arm64] :2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, buildSubjects(t, tt.src, tt.opt)); diff != "" {
				t.Errorf("subjects (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDockerfileDirectivesNeverPanic: parser directives and lint
// directives in any order and position are read, never a crash.
func TestDockerfileDirectivesNeverPanic(t *testing.T) {
	directives := []string{"# check=skip=all", "# check=error=true", "# check=skip=JSONArgsRecommended;error=true", "# syntax=docker/dockerfile:1", "# escape=`", "# a comment", "#check=skip=all", "# check=", "# check=bogus"}
	for i, a := range directives {
		for j, b := range directives {
			src := a + "\n" + b + "\nFROM alpine\n# check=skip=all\nRUN true\n"
			t.Run(fmt.Sprintf("%d-%d", i, j), func(t *testing.T) {
				subs, err := ReadBuild("Dockerfile", strings.NewReader(src), DockerfileOptions{})
				if err != nil {
					if _, ok := err.(*Error); !ok {
						t.Fatalf("error %T %v, want *Error", err, err)
					}
					return
				}
				if subs[0].Image != "alpine" {
					t.Errorf("base %q", subs[0].Image)
				}
			})
		}
	}
}

func FuzzReadBuild(f *testing.F) {
	for _, s := range []string{
		"# a\n# check=skip=all\nFROM alpine\n",
		"# syntax=x/y\nFROM a AS b\nCOPY --from=b / /\nFROM c\nCOPY --from=b / /\nRUN --mount=from=d,target=/x true\n",
		"ARG TARGETARCH\nFROM x-${TARGETARCH}\nCOPY --from=0 / /\n",
	} {
		f.Add(s, "linux/amd64,linux/arm64")
	}
	f.Fuzz(func(t *testing.T, src, platforms string) {
		subs, err := ReadBuild("f", strings.NewReader(src), DockerfileOptions{Platforms: strings.Split(platforms, ",")})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T, want *Error", err)
			}
			return
		}
		if len(subs) == 0 || subs[0].BuildInput != "" {
			t.Fatalf("no shipped base first: %+v", subs)
		}
		for _, s := range subs {
			if s.Image == "" || s.Resource != subs[0].Resource {
				t.Fatalf("bad subject %+v", s)
			}
		}
	})
}
