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
// Dockerfiles are parsed with BuildKit's own parser; the subject is the base
// of the shipped stage (the last, or a named target), followed through stage
// aliases with global ARGs and build arguments substituted.
//
// The package does no network I/O; callers hand it readers.
package subject
