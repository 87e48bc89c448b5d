package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// History limits: a line is a few hundred bytes per namespace; the chart
// shows the most recent entries.
const (
	maxHistoryLine    = 1 << 20
	MaxHistoryEntries = 1000
)

// HistoryEntry is one audit's numbers, one JSON line of a --history file.
type HistoryEntry struct {
	Time        time.Time          `json:"time"`
	Compliance  float64            `json:"compliance"`
	Containers  int                `json:"containers"`
	Workloads   int                `json:"workloads"`
	Namespaces  map[string]float64 `json:"namespaces"`
	MeanBaseAge float64            `json:"meanBaseAgeDays"`
	OldestBase  float64            `json:"oldestBaseAgeDays"`
	StaleBases  int                `json:"staleBases"`
	DeniedBases int                `json:"deniedBases"`
}

// History is the audit's entry.
func (a *Audit) History() HistoryEntry {
	inv := a.Inventory()
	h := HistoryEntry{Time: a.Time.UTC(), Compliance: inv.Compliance, Containers: inv.Containers, Workloads: inv.Workloads, Namespaces: map[string]float64{}}
	for _, ns := range inv.Namespaces {
		h.Namespaces[ns.Name] = ns.Compliance
	}
	h.MeanBaseAge, h.OldestBase = baseAges(inv, a.Time)
	for _, b := range inv.Bases {
		if b.Stale() {
			h.StaleBases++
		}
		if len(b.DeniedBy) > 0 {
			h.DeniedBases++
		}
	}
	return h
}

// baseAges are the mean age of the bases containers run on (each
// container counted) and the oldest, in days, over bases of known age.
func baseAges(inv Inventory, now time.Time) (mean, oldest float64) {
	var sum float64
	n := 0
	for _, b := range inv.Bases {
		if b.Created == nil {
			continue
		}
		d := b.Age(now).Hours() / 24
		sum += d * float64(b.Containers)
		n += b.Containers
		oldest = max(oldest, d)
	}
	if n > 0 {
		mean = sum / float64(n)
	}
	return round1(mean), round1(oldest)
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// AppendHistory appends e as one line to the file at path, made if
// missing.
func AppendHistory(path string, e HistoryEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("writing history: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("opening history: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing history %s: %w", path, err)
	}
	return f.Close()
}

// ReadHistory reads a history file, the last MaxHistoryEntries entries; a
// missing file is an empty history. A line that is not an entry is an
// error naming the file and line.
func ReadHistory(path string) ([]HistoryEntry, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading history: %w", err)
	}
	defer f.Close()
	return readHistory(path, f)
}

func readHistory(path string, r io.Reader) ([]HistoryEntry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxHistoryLine)
	var out []HistoryEntry
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var e HistoryEntry
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil || e.Time.IsZero() {
			if err == nil {
				err = errors.New("no time")
			}
			return nil, fmt.Errorf("%s:%d: not a history entry: %v", path, line, err)
		}
		out = append(out, e)
		if len(out) > MaxHistoryEntries {
			out = out[1:]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading history %s: %w", path, err)
	}
	return out, nil
}
