package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/baseguard/baseguard/audit"
	"github.com/baseguard/baseguard/audit/html"
)

// appendHistory appends the audit to --history and returns the history
// with it, for the HTML trend; without --history, the audit alone.
func (o *auditOptions) appendHistory(a *audit.Audit) ([]audit.HistoryEntry, error) {
	entry := a.History()
	if o.history == "" {
		return []audit.HistoryEntry{entry}, nil
	}
	past, err := audit.ReadHistory(o.history)
	if err != nil {
		return nil, err
	}
	if err := audit.AppendHistory(o.history, entry); err != nil {
		return nil, err
	}
	return append(past, entry), nil
}

// writeHTMLFile writes the report next to its final name, then renames it:
// a reader never sees half a report.
func writeHTMLFile(path string, a *audit.Audit, history []audit.HistoryEntry) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".baseguard-report-*.html")
	if err != nil {
		return fmt.Errorf("writing --html: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := html.Write(tmp, a, history); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing --html: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing --html: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing --html: %w", err)
	}
	return nil
}
