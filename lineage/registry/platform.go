package registry

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PrimaryPlatform is the platform a single lineage is told for: the one
// most clusters run, when the image has it.
var PrimaryPlatform = v1.Platform{OS: "linux", Architecture: "amd64"}

// isAttestation reports whether an index entry is an attestation manifest
// rather than an image for a platform.
func isAttestation(d v1.Descriptor) bool {
	if d.Annotations[annotationReferenceType] == referenceTypeAttestation {
		return true
	}
	return d.Platform != nil && d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown"
}

// platformsOf returns the entries of an index that are images for a
// platform: not attestations, not nested indexes.
func platformsOf(im *v1.IndexManifest) []v1.Descriptor {
	var out []v1.Descriptor
	for _, d := range im.Manifests {
		if isAttestation(d) || d.MediaType.IsIndex() {
			continue
		}
		out = append(out, d)
	}
	return out
}

// pickPlatform picks the entry for want, or the primary entry when want is
// nil: linux/amd64 when present, else the first.
func pickPlatform(ds []v1.Descriptor, want *v1.Platform) (v1.Descriptor, error) {
	if len(ds) == 0 {
		return v1.Descriptor{}, &PlatformError{Want: platformString(want), Available: nil}
	}
	if want == nil {
		if d, ok := findPlatform(ds, PrimaryPlatform); ok {
			return d, nil
		}
		return ds[0], nil
	}
	if d, ok := findPlatform(ds, *want); ok {
		return d, nil
	}
	return v1.Descriptor{}, &PlatformError{Want: want.String(), Available: platformNames(ds)}
}

// findPlatform finds the entry for want: same OS, architecture and
// variant, else the same OS and architecture with no variant on one side.
func findPlatform(ds []v1.Descriptor, want v1.Platform) (v1.Descriptor, bool) {
	for _, exact := range []bool{true, false} {
		for _, d := range ds {
			if d.Platform != nil && samePlatform(*d.Platform, want, exact) {
				return d, true
			}
		}
	}
	return v1.Descriptor{}, false
}

func samePlatform(have, want v1.Platform, exact bool) bool {
	if have.OS != want.OS || have.Architecture != want.Architecture {
		return false
	}
	hv, wv := variant(have), variant(want)
	return hv == wv || (!exact && (hv == "" || wv == ""))
}

// variant normalises arm64's default variant, which some indexes write
// and others leave out.
func variant(p v1.Platform) string {
	if p.Architecture == "arm64" && p.Variant == "v8" {
		return ""
	}
	return p.Variant
}

func platformNames(ds []v1.Descriptor) []string {
	var out []string
	for _, d := range ds {
		out = append(out, platformString(d.Platform))
	}
	return out
}

func platformString(p *v1.Platform) string {
	if p == nil {
		return "unknown"
	}
	return p.String()
}
