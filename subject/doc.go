// Package subject finds the container images a resource or a Dockerfile
// ships, each as a Subject: one image in its context (the resource, the
// container, the container list, the field path and the file position).
//
// Manifests are read as YAML or JSON, many documents per file, `kind: List`
// unwrapped, YAML aliases followed. Every pod-bearing kind is understood
// (PodKinds), wherever the kind keeps its pod spec, and every container list
// (containers, initContainers, ephemeralContainers). Other kinds are skipped
// silently. With Options.Workers, documents are parsed on several
// goroutines and handed out in document order, exactly as one after another.
// Errors are *Error values naming the file and line.
//
// YAML is parsed by the package's own scanner and parser, which follow
// go.yaml.in/yaml/v3's state by state (a differential fuzz test holds them
// to it: the same trees, or an error on the same line), into a compact
// tree: 20 bytes a node without pointers, scalars as views of the input.
// Input is read a chunk of whole documents at a time, so memory grows with
// the largest document, not the stream; Options.SubjectsPerCall bounds the
// subjects of one resource held at once. A byte order mark anywhere but at
// the start of the stream is an error (yaml.v3 reads what follows it
// differently depending on where its read buffer was cut).
//
// Dockerfiles are parsed with BuildKit's own parser; the subject is the base
// of the shipped stage (the last, or a named target), followed through stage
// aliases with global ARGs and build arguments substituted.
//
// The package does no network I/O; callers hand it readers.
package subject
