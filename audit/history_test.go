package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHistoryRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.jsonl")
	a := testAudit(t)
	for range 3 {
		if err := AppendHistory(path, a.History()); err != nil {
			t.Fatal(err)
		}
	}
	h, err := ReadHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 || h[2].Compliance != 0.8571 || h[2].Containers != 7 || h[2].Namespaces["web"] != 0.8 || h[2].StaleBases != 0 || h[2].DeniedBases != 1 {
		t.Errorf("history %+v", h)
	}
	if h[2].MeanBaseAge != 30 {
		t.Errorf("mean base age %v, want 30 days (4 containers on a 30-day-old base)", h[2].MeanBaseAge)
	}
	if missing, err := ReadHistory(filepath.Join(t.TempDir(), "none")); err != nil || missing != nil {
		t.Errorf("a missing history: %v, %v", missing, err)
	}
}

func TestReadHistoryErrors(t *testing.T) {
	for name, src := range map[string]string{
		"not JSON":      "{\"time\":\"2026-01-01T00:00:00Z\"}\nnope\n",
		"unknown field": "{\"time\":\"2026-01-01T00:00:00Z\",\"x\":1}\n",
		"no time":       "{\"compliance\":1}\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "h")
			os.WriteFile(path, []byte(src), 0o644)
			_, err := ReadHistory(path)
			if err == nil || !strings.Contains(err.Error(), path+":") {
				t.Errorf("error %v, want one naming %s and the line", err, path)
			}
		})
	}
}

func FuzzReadHistory(f *testing.F) {
	f.Add("{\"time\":\"2026-01-01T00:00:00Z\",\"compliance\":0.5,\"namespaces\":{\"a\":1}}\n")
	f.Add("\n\n{}\n")
	f.Fuzz(func(t *testing.T, src string) {
		h, err := readHistory("f", strings.NewReader(src))
		if err == nil && len(h) > MaxHistoryEntries {
			t.Fatalf("%d entries kept", len(h))
		}
		for _, e := range h {
			if e.Time.IsZero() {
				t.Fatal("an entry without time")
			}
		}
	})
}
