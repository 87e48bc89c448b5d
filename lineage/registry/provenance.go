package registry

import (
	"encoding/json"
	"fmt"
)

// In-toto attestations as BuildKit attaches them to an image index.
const (
	annotationReferenceType   = "vnd.docker.reference.type"
	annotationReferenceDigest = "vnd.docker.reference.digest"
	referenceTypeAttestation  = "attestation-manifest"
	annotationPredicateType   = "in-toto.io/predicate-type"
	mediaTypeInToto           = "application/vnd.in-toto+json"
	predicateSLSA02           = "https://slsa.dev/provenance/v0.2"
	predicateSLSA1            = "https://slsa.dev/provenance/v1"
)

// material is an input of a build: a package URL and its digests.
type material struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
}

// statement is the part of an in-toto statement carrying SLSA provenance
// that names a build's inputs, v0.2 and v1 alike.
type statement struct {
	PredicateType string `json:"predicateType"`
	Predicate     struct {
		Materials       []material `json:"materials"`
		BuildDefinition struct {
			ResolvedDependencies []material `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
	} `json:"predicate"`
}

// imageMaterial is an image a build used.
type imageMaterial struct {
	Ref      string // as written, from the package URL
	Digest   string // sha256:..., empty when not recorded
	Platform string // os/arch[/variant], empty when not recorded
}

// parseProvenance returns the images an SLSA provenance statement (v0.2
// materials or v1 resolvedDependencies) lists as build inputs, builder
// stages and the Dockerfile frontend included. Statements of other
// predicate types list nothing.
func parseProvenance(raw []byte) ([]imageMaterial, error) {
	var st statement
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("parsing in-toto statement: %w: %w", ErrMalformed, err)
	}
	var ms []material
	switch st.PredicateType {
	case predicateSLSA02:
		ms = st.Predicate.Materials
	case predicateSLSA1:
		ms = st.Predicate.BuildDefinition.ResolvedDependencies
	default:
		return nil, nil
	}
	var out []imageMaterial
	for _, m := range ms {
		ref, pl, ok, err := purlToRef(m.URI)
		if err != nil {
			return nil, fmt.Errorf("parsing provenance material: %w: %w", ErrMalformed, err)
		}
		if !ok {
			continue
		}
		im := imageMaterial{Ref: ref}
		if d := m.Digest["sha256"]; d != "" {
			im.Digest = "sha256:" + d
		}
		if pl != nil {
			im.Platform = pl.String()
		}
		out = append(out, im)
	}
	return out, nil
}
