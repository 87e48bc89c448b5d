package report

import (
	"encoding/json"
	"io"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
)

// Document is the JSON output of `baseguard check -o json`.
type Document struct {
	Results []JSONResult `json:"results"`
	Summary JSONSummary  `json:"summary"`
}

// JSONResult is one result in the JSON contract.
type JSONResult struct {
	Policy    string         `json:"policy"`
	Rule      string         `json:"rule"`
	Result    policy.Status  `json:"result"`
	Message   string         `json:"message"`
	Action    policy.Action  `json:"action"`
	Resource  JSONResource   `json:"resource"`
	Container string         `json:"container"`
	Image     string         `json:"image"`
	Lineage   []LineageEntry `json:"lineage"`
}

// JSONResource names the resource of a result.
type JSONResource struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	File       string `json:"file"`
}

// LineageEntry is one lineage entry in JSON.
type LineageEntry struct {
	Ref      string `json:"ref"`
	Digest   string `json:"digest,omitempty"`
	Source   string `json:"source"`
	Verified bool   `json:"verified,omitempty"`
}

// JSONSummary counts results by status.
type JSONSummary struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
}

// NewDocument builds the JSON document of results.
func NewDocument(results []policy.Result) Document {
	doc := Document{Results: make([]JSONResult, 0, len(results))}
	for i := range results {
		doc.Results = append(doc.Results, jsonResult(&results[i]))
	}
	s := policy.Summarize(results)
	doc.Summary = JSONSummary{Pass: s[policy.StatusPass], Fail: s[policy.StatusFail], Warn: s[policy.StatusWarn], Error: s[policy.StatusError], Skip: s[policy.StatusSkip]}
	return doc
}

func jsonResult(r *policy.Result) JSONResult {
	res := r.Subject.Resource
	return JSONResult{
		Policy:  r.Policy.Metadata.Name,
		Rule:    r.Rule.Name,
		Result:  r.Status,
		Message: r.Message,
		Action:  r.Action,
		Resource: JSONResource{
			APIVersion: res.APIVersion, Kind: res.Kind, Namespace: res.Namespace, Name: res.Name, File: res.File,
		},
		Container: r.Subject.Container,
		Image:     r.Subject.Image,
		Lineage:   Lineage(r.Lineage),
	}
}

// Lineage converts a lineage to its JSON entries.
func Lineage(l lineage.Lineage) []LineageEntry {
	out := make([]LineageEntry, 0, len(l.Entries))
	for _, e := range l.Entries {
		out = append(out, LineageEntry{Ref: e.Ref.Canonical(), Digest: e.Digest, Source: string(e.Source), Verified: e.Verified})
	}
	return out
}

// JSON writes results as the JSON contract.
func JSON(w io.Writer, results []policy.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewDocument(results))
}
