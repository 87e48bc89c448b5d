package trust

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/baseguard/baseguard/lineage"
)

// maxFindings bounds the vulnerabilities kept from one scan: a large image
// has a few thousand; more is an attack on memory.
const maxFindings = 50000

// vulnPredicate is cosign's vulnerability scan predicate: the scanner's
// own report in scanner.result, times in metadata. Trivy writes it with
// --format cosign-vuln; a Grype report is wrapped the same way.
type vulnPredicate struct {
	Scanner struct {
		URI     string          `json:"uri"`
		Version string          `json:"version"`
		Result  json.RawMessage `json:"result"`
	} `json:"scanner"`
	Metadata struct {
		ScanFinishedOn string `json:"scanFinishedOn"`
	} `json:"metadata"`
}

// parseVulnPredicate reads a scan: who scanned, when it finished, and what
// it found. A report that is neither Trivy's nor Grype's is an error naming
// what was found.
func parseVulnPredicate(raw []byte) (*lineage.Scan, error) {
	var p vulnPredicate
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("reading the vulnerability predicate: %w: %w", ErrMalformed, err)
	}
	finished, err := time.Parse(time.RFC3339Nano, p.Metadata.ScanFinishedOn)
	if err != nil {
		return nil, fmt.Errorf("reading the vulnerability predicate: %w: metadata.scanFinishedOn %q is not an RFC 3339 time", ErrMalformed, p.Metadata.ScanFinishedOn)
	}
	var result map[string]json.RawMessage
	if err := json.Unmarshal(p.Scanner.Result, &result); err != nil || result == nil {
		return nil, fmt.Errorf("reading the vulnerability predicate: %w: scanner.result is not a JSON object (scanner %q)", ErrMalformed, p.Scanner.URI)
	}
	scan := &lineage.Scan{Finished: finished}
	var findings []lineage.Finding
	switch {
	case result["Results"] != nil || result["SchemaVersion"] != nil && result["ArtifactName"] != nil:
		findings, err = trivyFindings(p.Scanner.Result)
		scan.Scanner = scannerName(p.Scanner.URI, p.Scanner.Version, "trivy")
	case result["matches"] != nil:
		findings, err = grypeFindings(p.Scanner.Result)
		scan.Scanner = scannerName(p.Scanner.URI, p.Scanner.Version, grypeName(result))
	default:
		return nil, fmt.Errorf("reading the vulnerability predicate: %w: scanner %q: scanner.result is neither a Trivy report (Results) nor a Grype report (matches); it has %s", ErrMalformed, p.Scanner.URI, keysOf(result))
	}
	if err != nil {
		return nil, fmt.Errorf("reading the vulnerability predicate: %w", err)
	}
	scan.Findings = findings
	return scan, nil
}

// trivyReport is the part of Trivy's JSON report read.
type trivyReport struct {
	Results []struct {
		Vulnerabilities []struct {
			VulnerabilityID string   `json:"VulnerabilityID"`
			Severity        string   `json:"Severity"`
			VendorIDs       []string `json:"VendorIDs"`
		} `json:"Vulnerabilities"`
	} `json:"Results"`
}

func trivyFindings(raw []byte) ([]lineage.Finding, error) {
	var r trivyReport
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%w: Trivy report: %w", ErrMalformed, err)
	}
	var fs findingSet
	for _, res := range r.Results {
		for _, v := range res.Vulnerabilities {
			if err := fs.add(v.VulnerabilityID, v.Severity, v.VendorIDs); err != nil {
				return nil, fmt.Errorf("Trivy report: %w", err)
			}
		}
	}
	return fs.list(), nil
}

// grypeReport is the part of Grype's JSON report read.
type grypeReport struct {
	Matches []struct {
		Vulnerability struct {
			ID       string `json:"id"`
			Severity string `json:"severity"`
		} `json:"vulnerability"`
		RelatedVulnerabilities []struct {
			ID string `json:"id"`
		} `json:"relatedVulnerabilities"`
	} `json:"matches"`
}

func grypeFindings(raw []byte) ([]lineage.Finding, error) {
	var r grypeReport
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%w: Grype report: %w", ErrMalformed, err)
	}
	var fs findingSet
	for _, m := range r.Matches {
		var aliases []string
		for _, rv := range m.RelatedVulnerabilities {
			aliases = append(aliases, rv.ID)
		}
		if err := fs.add(m.Vulnerability.ID, m.Vulnerability.Severity, aliases); err != nil {
			return nil, fmt.Errorf("Grype report: %w", err)
		}
	}
	return fs.list(), nil
}

// findingSet keeps one finding per ID, at its highest severity.
type findingSet struct {
	byID map[string]*lineage.Finding
}

func (s *findingSet) add(id, severity string, aliases []string) error {
	id = strings.TrimSpace(id)
	if id == "" {
		return fmt.Errorf("%w: a vulnerability without an ID", ErrMalformed)
	}
	if s.byID == nil {
		s.byID = map[string]*lineage.Finding{}
	}
	sev, _ := lineage.ParseSeverity(strings.TrimSpace(severity))
	f, ok := s.byID[id]
	if !ok {
		if len(s.byID) == maxFindings {
			return fmt.Errorf("%w: more than %d vulnerabilities", ErrMalformed, maxFindings)
		}
		f = &lineage.Finding{ID: id}
		s.byID[id] = f
	}
	f.Severity = max(f.Severity, sev)
	for _, a := range aliases {
		if a != "" && a != id && !slices.Contains(f.Aliases, a) && len(f.Aliases) < maxAliases {
			f.Aliases = append(f.Aliases, a)
		}
	}
	return nil
}

// maxAliases bounds the aliases kept per finding.
const maxAliases = 8

func (s *findingSet) list() []lineage.Finding {
	out := make([]lineage.Finding, 0, len(s.byID))
	for _, f := range s.byID {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// scannerName is "name version" from a purl such as
// pkg:github/aquasecurity/trivy@0.58.1, else from the predicate's version.
func scannerName(uri, version, fallback string) string {
	name, ver := fallback, version
	if rest, ok := strings.CutPrefix(uri, "pkg:"); ok {
		path, v, _ := strings.Cut(rest, "@")
		if i := strings.LastIndex(path, "/"); i >= 0 && i+1 < len(path) {
			name = path[i+1:]
		}
		if v != "" {
			ver = v
		}
	}
	if ver == "" {
		return name
	}
	return name + " " + strings.TrimPrefix(ver, "v")
}

// grypeName is the report's descriptor name (grype), or grype.
func grypeName(result map[string]json.RawMessage) string {
	var d struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(result["descriptor"], &d) == nil && d.Name != "" && len(d.Name) < 64 {
		return d.Name
	}
	return "grype"
}

// keysOf names an object's keys, for errors: the first few, sorted.
func keysOf(m map[string]json.RawMessage) string {
	if len(m) == 0 {
		return "no keys"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, fmt.Sprintf("%q", truncate(k, 40)))
	}
	sort.Strings(keys)
	if len(keys) > 8 {
		keys = append(keys[:8], fmt.Sprintf("and %d more", len(keys)-8))
	}
	return "keys " + strings.Join(keys, ", ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
