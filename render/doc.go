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
// Rendered output is bounded (MaxOutputBytes); rendering itself runs the
// chart's templates and cannot be interrupted.
package render
