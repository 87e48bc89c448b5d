// Package lineage defines what an image is built on: the ordered chain
// [image, base, base of base, ...], each entry with its canonical reference,
// its digest where known, where the fact came from (its Source) and whether
// it was verified against the image's layers.
//
// This package holds only the data model and is pure. Resolving a lineage
// from a registry is done by the resolver in lineage/registry; offline, a
// lineage is just the image itself (Of).
package lineage
