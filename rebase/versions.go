package rebase

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// version is a tag read as a version: an optional "v", dot-separated
// numbers, and a suffix that starts with a separator (3.19, v1.2.3,
// 3.19-slim, 1.22-alpine3.20).
type version struct {
	tag    string
	prefix string
	nums   []int
	suffix string
}

// maxVersionDigits bounds one number of a version: more is not a version
// people write, and could overflow.
const maxVersionDigits = 9

// parseVersion reads a tag as a version; ok is false for tags that are not
// (latest, nonroot, 8u302, a commit hash).
func parseVersion(tag string) (version, bool) {
	v := version{tag: tag}
	rest := tag
	if strings.HasPrefix(rest, "v") {
		v.prefix, rest = "v", rest[1:]
	}
	for {
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 0 || n > maxVersionDigits {
			return version{}, false
		}
		x, _ := strconv.Atoi(rest[:n])
		v.nums = append(v.nums, x)
		rest = rest[n:]
		if len(rest) < 2 || rest[0] != '.' || rest[1] < '0' || rest[1] > '9' {
			break
		}
		rest = rest[1:]
	}
	if rest != "" && (len(rest) < 2 || !strings.ContainsRune("-_+.", rune(rest[0]))) {
		return version{}, false
	}
	v.suffix = rest
	return v, true
}

// sameShape reports whether two versions are the same kind of tag: the
// same prefix, as many numbers, the same suffix (3.19 and 3.21, 3.19-slim
// and 3.21-slim; not 3.19 and 3.21.1, nor 3.19 and 3.21-slim).
func (v version) sameShape(o version) bool {
	return v.prefix == o.prefix && len(v.nums) == len(o.nums) && v.suffix == o.suffix
}

// compare orders versions of the same shape by their numbers.
func (v version) compare(o version) int { return slices.Compare(v.nums, o.nums) }

// newerVersions returns the tags of the same shape as current and newer
// than it, newest first.
func newerVersions(current string, tags []string) []version {
	cv, ok := parseVersion(current)
	if !ok {
		return nil
	}
	var out []version
	for _, t := range tags {
		if v, ok := parseVersion(t); ok && v.sameShape(cv) && v.compare(cv) > 0 {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b version) int {
		if c := b.compare(a); c != 0 {
			return c
		}
		return cmp.Compare(a.tag, b.tag) // 3.09 and 3.9: a stable order
	})
	return out
}
