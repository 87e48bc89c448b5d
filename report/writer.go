package report

import (
	"bufio"
	"io"

	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
)

// Writer streams results as they are decided, so a check of many resources
// never holds them all. Close writes what comes after the results (the
// summary) and flushes.
type Writer interface {
	Write(results []policy.Result) error
	Close() error
}

// Tally counts what a report covers, for its summary line.
type Tally struct {
	Summary   policy.Summary
	Resources int
	Images    int
	Blocking  int

	lastResource *subject.Resource
	lastSubject  *subject.Subject
}

// Add counts results. Results arrive grouped by subject and resource.
func (t *Tally) Add(results []policy.Result) {
	if t.Summary == nil {
		t.Summary = policy.Summarize(nil)
	}
	for i := range results {
		r := &results[i]
		t.Summary[r.Status]++
		if r.Blocking() {
			t.Blocking++
		}
		if r.Subject != t.lastSubject {
			t.lastSubject = r.Subject
			t.Images++
		}
		if r.Subject.Resource != t.lastResource {
			t.lastResource = r.Subject.Resource
			t.Resources++
		}
	}
}

// bufferSize is the output buffer: large enough that writes are few.
const bufferSize = 64 << 10

func buffered(w io.Writer) *bufio.Writer { return bufio.NewWriterSize(w, bufferSize) }
