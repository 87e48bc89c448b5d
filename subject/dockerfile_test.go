package subject

import (
	"errors"
	"strings"
	"testing"
)

func TestReadDockerfile(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		opt       DockerfileOptions
		image     string
		line      int
		stage     string
		platform  string
		scratch   bool
		wantError string
	}{
		{name: "single stage", src: "FROM alpine:3.19\nRUN true\n", image: "alpine:3.19", line: 1},
		{name: "last stage ships, builder ignored", src: "FROM golang:1.23 AS build\nRUN go build\nFROM registry.example.com/base/distroless/static:nonroot\nCOPY --from=build /a /a\n", image: "registry.example.com/base/distroless/static:nonroot", line: 3},
		{name: "stage alias followed", src: "FROM ubuntu:22.04 AS base\nFROM base AS final\nRUN true\n", image: "ubuntu:22.04", line: 1, stage: "final"},
		{name: "alias chain, case-insensitive", src: "FROM centos:7 AS One\nFROM one AS two\nFROM TWO\n", image: "centos:7", line: 1},
		{name: "global ARG default", src: "ARG BASE=centos:7\nFROM ${BASE}\n", image: "centos:7", line: 2},
		{name: "build-arg overrides", src: "ARG BASE=centos:7\nFROM $BASE\n", opt: DockerfileOptions{BuildArgs: map[string]string{"BASE": "wolfi:1"}}, image: "wolfi:1", line: 2},
		{name: "ARG default uses earlier ARG", src: "ARG REG=registry.example.com\nARG IMG=${REG}/base/alpine\nFROM ${IMG}:3.19\n", image: "registry.example.com/base/alpine:3.19", line: 3},
		{name: "target picks a stage", src: "FROM alpine:3.19 AS dev\nFROM debian:12 AS prod\n", opt: DockerfileOptions{Target: "dev"}, image: "alpine:3.19", line: 1, stage: "dev"},
		{name: "platform flag", src: "FROM --platform=$BUILDPLATFORM alpine:3.19\n", image: "alpine:3.19", line: 1, platform: "linux/amd64"},
		{name: "platform from option", src: "FROM --platform=$TARGETPLATFORM alpine:3.19\n", opt: DockerfileOptions{Platform: "linux/arm64"}, image: "alpine:3.19", line: 1, platform: "linux/arm64"},
		{name: "parser directive and escape", src: "# syntax=docker/dockerfile:1\n# escape=`\nFROM alpine:3.19\nRUN echo `\n  hi\n", image: "alpine:3.19", line: 3},
		{name: "scratch", src: "FROM scratch\nCOPY app /\n", image: "scratch", line: 1, scratch: true},
		{name: "empty ARG", src: "ARG BASE\nFROM ${BASE}\n", wantError: "x:2: FROM ${BASE} expands to nothing"},
		{name: "no FROM", src: "RUN true\n", wantError: "x:1:"},
		{name: "unknown target", src: "FROM alpine\n", opt: DockerfileOptions{Target: "nope"}, wantError: "target stage \"nope\" not found"},
		{name: "unknown instruction", src: "FROM alpine\nFROB x\n", wantError: "x:2: unknown instruction: FROB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadDockerfile("x", strings.NewReader(tt.src), tt.opt)
			if tt.wantError != "" {
				var e *Error
				if err == nil || !errors.As(err, &e) || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("error = %v, want *Error containing %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Image != tt.image || s.Line != tt.line || s.Container != tt.stage || s.Scratch != tt.scratch {
				t.Errorf("got image %q line %d stage %q scratch %v; want %q %d %q %v", s.Image, s.Line, s.Container, s.Scratch, tt.image, tt.line, tt.stage, tt.scratch)
			}
			if tt.platform != "" && s.Platform != tt.platform {
				t.Errorf("platform %q, want %q", s.Platform, tt.platform)
			}
			if s.Resource.Kind != KindDockerfile || s.Resource.Name != "x" || s.Field != "FROM" {
				t.Errorf("resource %+v field %q", s.Resource, s.Field)
			}
		})
	}
}

func TestIsDockerfile(t *testing.T) {
	for name, want := range map[string]bool{
		"Dockerfile": true, "a/b/Containerfile": true, "api.Dockerfile": true, "Dockerfile.prod": true, "Dockerfile-prod": true, "Dockerfile_dev": true, "Containerfile-x": true, "web.dockerfile": true,
		"Dockerfile-": false, "Dockerfiles": false, "dockerfile-lint.go": false,
		"dockerfile": true, "Dockerfile.dockerignore": false, "subject/dockerfile.go": false, "dockerfile_test.go": false, "containerfile.rs": false, "Dockerfiles.md": false, "main.go": false, "x.yaml": false,
	} {
		if got := IsDockerfile(name); got != want {
			t.Errorf("IsDockerfile(%q) = %v, want %v", name, got, want)
		}
	}
}

func FuzzReadDockerfile(f *testing.F) {
	for _, s := range []string{
		"FROM alpine\n", "ARG A=b\nFROM ${A:-c} AS x\nFROM x\n", "FROM --platform=$X a\n", "# escape=`\nFROM a`\n", "FROM a AS a\nFROM a\n", "ARG\nFROM\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		s, err := ReadDockerfile("f", strings.NewReader(src), DockerfileOptions{})
		if err == nil && s.Image == "" {
			t.Fatalf("no error and no image for %q", src)
		}
	})
}
