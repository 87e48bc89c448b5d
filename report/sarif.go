package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/baseguard/baseguard/policy"
)

// SARIF 2.1.0, the subset code-scanning services read.
type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string       `json:"id"`
	Name             string       `json:"name"`
	ShortDescription sarifMessage `json:"shortDescription"`
	DefaultConfig    sarifConfig  `json:"defaultConfiguration"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID       string             `json:"ruleId"`
	RuleIndex    int                `json:"ruleIndex"`
	Level        string             `json:"level"`
	Message      sarifMessage       `json:"message"`
	Locations    []sarifLocation    `json:"locations"`
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

// sarifWriter streams a SARIF log: the driver's rules are known up front,
// results are written as they come.
type sarifWriter struct {
	w     *bufio.Writer
	index map[string]int
	n     int
	enc   *json.Encoder
	buf   bytes.Buffer
}

// NewSARIF returns a Writer of SARIF 2.1.0: one SARIF rule per policy rule,
// one SARIF result per failing, warning, erroring or excepted check, located
// at the `image:` field or FROM line. Excepted checks carry a suppression.
func NewSARIF(w io.Writer, policies []*policy.Policy, version string) (Writer, error) {
	s := &sarifWriter{w: buffered(w), index: map[string]int{}}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	driver := sarifDriver{Name: "baseguard", Version: version, InformationURI: "https://baseguard.dev", Rules: []sarifRule{}}
	for _, p := range policies {
		for _, r := range p.Spec.Rules {
			id := p.Metadata.Name + "/" + r.Name
			s.index[id] = len(driver.Rules)
			desc := r.Message
			if desc == "" {
				desc = "baseguard rule " + id
			}
			driver.Rules = append(driver.Rules, sarifRule{ID: id, Name: r.Name, ShortDescription: sarifMessage{desc}, DefaultConfig: sarifConfig{levelOf(policy.StatusFail, actionOf(p, &r))}})
		}
	}
	tool, err := json.Marshal(sarifTool{driver})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(s.w, "{\"version\": \"2.1.0\",\n\"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n\"runs\": [{\"tool\": %s,\n\"results\": [", tool)
	return s, nil
}

func (s *sarifWriter) Write(results []policy.Result) error {
	for i := range results {
		r := &results[i]
		if r.Status == policy.StatusPass || (r.Status == policy.StatusSkip && r.Exception == "") {
			continue
		}
		id := r.Policy.Metadata.Name + "/" + r.Rule.Name
		sr := sarifResult{RuleID: id, RuleIndex: s.index[id], Level: levelOf(r.Status, r.Action), Message: sarifMessage{r.Message}}
		loc := sarifPhysical{ArtifactLocation: sarifArtifact{URI: filepath.ToSlash(r.Subject.Resource.File)}}
		if r.Subject.Line > 0 {
			loc.Region = &sarifRegion{StartLine: r.Subject.Line, StartColumn: r.Subject.Column}
		}
		sr.Locations = []sarifLocation{{loc}}
		if r.Status == policy.StatusSkip {
			sr.Level = levelOf(policy.StatusFail, r.Action)
			sr.Suppressions = []sarifSuppression{{Kind: "external", Justification: r.Message}}
		}
		sep := ",\n  "
		if s.n == 0 {
			sep = "\n  "
		}
		s.n++
		s.buf.Reset()
		if err := s.enc.Encode(sr); err != nil {
			return fmt.Errorf("writing SARIF: %w", err)
		}
		s.w.WriteString(sep)
		s.w.Write(bytes.TrimSuffix(s.buf.Bytes(), []byte("\n")))
	}
	return nil
}

func (s *sarifWriter) Close() error {
	s.w.WriteString("\n]}]}\n")
	return s.w.Flush()
}

// SARIF writes results as one SARIF log.
func SARIF(w io.Writer, results []policy.Result, policies []*policy.Policy, version string) error {
	sw, err := NewSARIF(w, policies, version)
	if err != nil {
		return err
	}
	if err := sw.Write(results); err != nil {
		return err
	}
	return sw.Close()
}

func actionOf(p *policy.Policy, r *policy.Rule) policy.Action {
	switch {
	case r.Action != "":
		return r.Action
	case p.Spec.Action != "":
		return p.Spec.Action
	}
	return policy.DefaultAction
}

func levelOf(s policy.Status, a policy.Action) string {
	switch {
	case s == policy.StatusError, s == policy.StatusFail && a == policy.Enforce:
		return "error"
	case s == policy.StatusFail, s == policy.StatusWarn:
		return "warning"
	}
	return "note"
}
