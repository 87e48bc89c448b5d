package crd

import (
	"regexp"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
)

// scalarChecks pair each schema pattern with the loader's own parser.
var scalarChecks = []struct {
	name    string
	pattern string
	loads   func(string) bool
}{
	{"image pattern", imagePattern, func(s string) bool { _, err := imageref.CompilePattern(s); return err == nil }},
	{"date", datePattern, func(s string) bool { _, err := policy.ParseDate(s); return err == nil }},
	{"duration", durationPattern, func(s string) bool { _, err := policy.ParseDuration(s); return err == nil }},
	{"severity", severityPattern, func(s string) bool {
		v, ok := lineage.ParseSeverity(s)
		return ok && v >= lineage.SeverityLow
	}},
	{"key or trusted root", notBlankPattern, func(s string) bool { return strings.TrimSpace(s) != "" }},
}

var scalarSamples = []string{
	"90d", "1d", "720h", "1h30m", "1.5h", ".5h", "+1h", "1000ms", "2h45m30.5s", "1µs", "3us", "0d", "-1h", "1", "h", "d", "1.d", "1e3s",
	"2027-01-31", "2027-01-31T10:00:00Z", "2027-01-31t10:00:00+02:00", "2027-13-45", "27-01-31", "2027-01-31 10:00",
	"critical", "HIGH", "Medium", "low", "negligible", "unknown", "severe", " ", "\t\n", "\u00a0",
	"centos:7", "*centos*", "registry.example.com/base/alpine:*", "a | b", "a,b", "a b", "", "@sha256:x", "UPPER/case",
	"registry.example.com:5000/x@sha256:0123456789012345678901234567890123456789012345678901234567890123",
}

// TestSchemaPatternsAdmitWhatLoads: on samples, a value the loader
// accepts matches the schema's pattern (the schema is never stricter).
func TestSchemaPatternsAdmitWhatLoads(t *testing.T) {
	for _, c := range scalarChecks {
		re := regexp.MustCompile(c.pattern)
		admitted, loaded := 0, 0
		for _, s := range scalarSamples {
			if c.loads(s) {
				loaded++
				if !re.MatchString(s) {
					t.Errorf("%s %q loads, but the schema's pattern %s refuses it", c.name, s, c.pattern)
				}
			}
			if re.MatchString(s) {
				admitted++
			}
		}
		if loaded == 0 || admitted == len(scalarSamples) {
			t.Errorf("%s: the samples do not tell the pattern apart (%d load, %d of %d admitted)", c.name, loaded, admitted, len(scalarSamples))
		}
	}
}

// FuzzSchemaPatternsAdmitWhatLoads: whatever the schema's pattern refuses,
// the loader refuses too.
func FuzzSchemaPatternsAdmitWhatLoads(f *testing.F) {
	for _, s := range scalarSamples {
		f.Add(s)
	}
	res := make([]*regexp.Regexp, len(scalarChecks))
	for i, c := range scalarChecks {
		res[i] = regexp.MustCompile(c.pattern)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i, c := range scalarChecks {
			if !res[i].MatchString(s) && c.loads(s) {
				t.Errorf("%s %q loads, but the schema's pattern %s refuses it", c.name, s, c.pattern)
			}
		}
	})
}
