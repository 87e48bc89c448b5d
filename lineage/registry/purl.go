package registry

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	packageurl "github.com/package-url/packageurl-go"
)

// purlToRef turns a Docker package URL, as BuildKit writes image materials
// (`pkg:docker/alpine@3.17?platform=linux%2Famd64`,
// `pkg:docker/registry.example.com/base/alpine@sha256:...`), into a
// reference as written and the platform it names. ok is false for a
// package URL of another type (git sources, HTTP files).
func purlToRef(s string) (ref string, platform *v1.Platform, ok bool, err error) {
	if !strings.HasPrefix(s, "pkg:docker/") {
		return "", nil, false, nil
	}
	p, err := packageurl.FromString(s)
	if err != nil {
		return "", nil, false, fmt.Errorf("parsing package URL %q: %w", s, err)
	}
	if p.Name == "" {
		return "", nil, false, fmt.Errorf("parsing package URL %q: no image name", s)
	}
	q := p.Qualifiers.Map()
	ref = p.Name
	if p.Namespace != "" {
		ref = p.Namespace + "/" + ref
	}
	if u := strings.TrimSuffix(q["repository_url"], "/"); u != "" {
		ref = u + "/" + ref
	}
	ref += versionSuffix(p.Version, q["digest"])
	if pl := q["platform"]; pl != "" {
		if platform, err = v1.ParsePlatform(pl); err != nil {
			return "", nil, false, fmt.Errorf("parsing package URL %q: platform: %w", s, err)
		}
	}
	return ref, platform, true, nil
}

// versionSuffix is `:tag`, `@digest` or `:tag@digest` for a purl version
// (a tag or a digest) and digest qualifier.
func versionSuffix(version, digest string) string {
	switch {
	case isDigest(version):
		return "@" + version
	case version != "" && digest != "":
		return ":" + version + "@" + digest
	case version != "":
		return ":" + version
	case digest != "":
		return "@" + digest
	}
	return ""
}

func isDigest(s string) bool {
	_, err := v1.NewHash(s)
	return err == nil
}
