package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/report"
)

// JSONResult is one result of `audit -o json`: check's, its resource the
// workload with its pod count.
type JSONResult struct {
	report.JSONResult
	Resource JSONWorkload `json:"resource"`
}

// JSONWorkload is check's resource plus the workload's pods.
type JSONWorkload struct {
	report.JSONResource
	Pods int `json:"pods"`
}

// WriteJSON writes the audit as one JSON object, check's results and
// summary and the inventory, one result per line.
func WriteJSON(w io.Writer, a *Audit) error {
	bw := bufio.NewWriter(w)
	var all []policy.Result
	sep := "\n  "
	bw.WriteString(`{"results": [`)
	for _, wl := range a.Workloads {
		for _, it := range wl.Items {
			for i := range it.Results {
				r := &it.Results[i]
				all = append(all, *r)
				j := JSONResult{JSONResult: report.NewJSONResult(r)}
				j.Resource = JSONWorkload{JSONResource: j.JSONResult.Resource, Pods: wl.Pods}
				if err := writeValue(bw, sep, j); err != nil {
					return err
				}
				sep = ",\n  "
			}
		}
	}
	if len(all) > 0 {
		bw.WriteString("\n")
	}
	if err := writeValue(bw, "],\n\"summary\": ", report.NewJSONSummary(policy.Summarize(all))); err != nil {
		return err
	}
	if err := writeValue(bw, ",\n\"inventory\": ", a.Inventory()); err != nil {
		return err
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// writeValue writes sep and v's compact JSON, HTML characters unescaped
// as in check's output.
func writeValue(w *bufio.Writer, sep string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	w.WriteString(sep)
	_, err := w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return err
}
