package html

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"

	"github.com/baseguard/baseguard/audit"
)

//go:embed report.html.tmpl
var reportTemplate string

var tmpl = template.Must(template.New("report").Parse(reportTemplate))

// Write renders the audit, with the trend of history (oldest first) when
// it has two entries or more.
func Write(w io.Writer, a *audit.Audit, history []audit.HistoryEntry) error {
	if err := tmpl.Execute(w, newPage(a, history)); err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	return nil
}
