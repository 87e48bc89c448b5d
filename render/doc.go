// Package render turns kustomizations and Helm charts into the manifests
// they apply, so that what is judged is what would run: a kustomization's
// `images:` rewrites and patches applied, a chart's templates rendered with
// its values.
//
// Kustomizations are built with kustomize's own library (krusty) on the
// real file system, with kustomize's default load restrictions (files must
// stay under the kustomization's root; cycles of kustomizations are
// refused) and no plugins. Charts are rendered with Helm's own library, as
// `helm template` does: default values, then any values files in order,
// release name "release-name", no cluster (lookup finds nothing), hooks
// and tests included, CRDs left out.
//
// Rendered output is bounded (MaxOutputBytes), and so is the time a render
// may take (a Timeout, DefaultTimeout unless set): rendering runs the
// chart's templates, or fetches a kustomization's remote bases, and cannot
// be interrupted, so a render past its time is given up with an error and
// left to run on until the process ends.
package render
