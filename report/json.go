package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
)

// JSONResult is one result in the JSON contract of `baseguard check -o json`:
//
//	{"results": [JSONResult, ...], "summary": JSONSummary}
type JSONResult struct {
	JSONRuleResult
	JSONSubject
}

// JSONRuleResult is the half of a JSONResult that differs from rule to rule.
type JSONRuleResult struct {
	Policy  string        `json:"policy"`
	Rule    string        `json:"rule"`
	Result  policy.Status `json:"result"`
	Message string        `json:"message"`
	Action  policy.Action `json:"action"`
}

// JSONSubject is the half of a JSONResult that all results of one subject
// share.
type JSONSubject struct {
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
	// TagVerified is set for a reference written as repo:tag@digest: true
	// when the registry confirmed the tag names the digest, false when not
	// (or not asked: offline). Ref is then the digest alone when the
	// registry said otherwise.
	TagVerified *bool `json:"tagVerified,omitempty"`
}

// JSONSummary counts results by status.
type JSONSummary struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
}

// NewJSONResult converts a result to its JSON form.
func NewJSONResult(r *policy.Result) JSONResult {
	return JSONResult{newJSONRuleResult(r), newJSONSubject(r)}
}

func newJSONRuleResult(r *policy.Result) JSONRuleResult {
	return JSONRuleResult{Policy: r.Policy.Metadata.Name, Rule: r.Rule.Name, Result: r.Status, Message: r.Message, Action: r.Action}
}

func newJSONSubject(r *policy.Result) JSONSubject {
	res := r.Subject.Resource
	return JSONSubject{
		Resource: JSONResource{
			APIVersion: res.APIVersion, Kind: res.Kind, Namespace: res.Namespace, Name: res.Name, File: res.File,
		},
		Container: r.Subject.Container,
		Image:     r.Subject.Image,
		Lineage:   Lineage(r.Lineage),
	}
}

// NewJSONSummary converts a summary to its JSON form.
func NewJSONSummary(s policy.Summary) JSONSummary {
	return JSONSummary{Pass: s[policy.StatusPass], Fail: s[policy.StatusFail], Warn: s[policy.StatusWarn], Error: s[policy.StatusError], Skip: s[policy.StatusSkip]}
}

// Lineage converts a lineage to its JSON entries.
func Lineage(l lineage.Lineage) []LineageEntry {
	out := make([]LineageEntry, 0, len(l.Entries))
	for _, e := range l.Entries {
		out = append(out, LineageEntry{Ref: e.Ref.Canonical(), Digest: e.Digest, Source: string(e.Source), Verified: e.Verified, TagVerified: e.TagVerified})
	}
	return out
}

// jsonWriter streams the JSON document, one result per line.
type jsonWriter struct {
	w     *bufio.Writer
	buf   bytes.Buffer
	enc   *json.Encoder
	tally Tally
	n     int
	// tail is the encoded shared half of tailOf's results.
	tail   []byte
	tailOf *subject.Subject
}

// NewJSON returns a Writer of the JSON contract. It writes one result per
// line: the document stays easy to grep and costs no re-indentation.
func NewJSON(w io.Writer) Writer {
	j := &jsonWriter{w: buffered(w)}
	j.enc = json.NewEncoder(&j.buf)
	j.enc.SetEscapeHTML(false)
	return j
}

func (j *jsonWriter) Write(results []policy.Result) error {
	j.tally.Add(results)
	j.tailOf = nil // shared halves are reused within one batch only
	for i := range results {
		r := &results[i]
		sep := ",\n  "
		if j.n == 0 {
			sep = "{\"results\": [\n  "
		}
		j.n++
		if r.Subject != j.tailOf {
			if err := j.encodeTail(r); err != nil {
				return err
			}
		}
		if err := j.encode(sep, newJSONRuleResult(r)); err != nil {
			return err
		}
		j.w.Write(j.tail)
	}
	return nil
}

// encodeTail encodes the fields a subject's results share, as `,"resource":
// ...}`, ready to follow a head without its closing brace.
func (j *jsonWriter) encodeTail(r *policy.Result) error {
	j.buf.Reset()
	if err := j.enc.Encode(newJSONSubject(r)); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	tail := bytes.TrimSuffix(j.buf.Bytes(), []byte("\n"))
	j.tail = append(append(j.tail[:0], ','), tail[1:]...)
	j.tailOf = r.Subject
	return nil
}

// encode writes sep and v's compact JSON without its trailing newline,
// and without its closing brace when a tail follows.
func (j *jsonWriter) encode(sep string, v any) error {
	j.buf.Reset()
	if err := j.enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	b := bytes.TrimSuffix(j.buf.Bytes(), []byte("\n"))
	if _, ok := v.(JSONRuleResult); ok {
		b = b[:len(b)-1]
	}
	j.w.WriteString(sep)
	_, err := j.w.Write(b)
	return err
}

func (j *jsonWriter) Close() error {
	head := "\n],\n\"summary\": "
	if j.n == 0 {
		head = "{\"results\": [],\n\"summary\": "
	}
	if j.tally.Summary == nil {
		j.tally.Add(nil)
	}
	if err := j.encode(head, NewJSONSummary(j.tally.Summary)); err != nil {
		return err
	}
	j.w.WriteString("}\n")
	return j.w.Flush()
}

// JSON writes results as one JSON document.
func JSON(w io.Writer, results []policy.Result) error {
	jw := NewJSON(w)
	if err := jw.Write(results); err != nil {
		return err
	}
	return jw.Close()
}
