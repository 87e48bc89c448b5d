package subject

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// chunkBytes is how much YAML a worker is given at once: whole documents,
// enough of them that handing them over costs little.
const chunkBytes = 32 << 10

// queuedChunksPerWorker bounds the chunks read ahead of the one whose
// subjects are being handed out, and so the memory a large input takes.
const queuedChunksPerWorker = 4

// chunk is a run of whole YAML documents and the line it starts on.
type chunk struct {
	line int
	data []byte
}

// parsed is what a worker found in a chunk, to be handed out in order.
type parsed struct {
	events []event
	err    error
}

// event is one callback: a pod-bearing resource with its subjects, a
// Namespace, or a notice.
type event struct {
	res      *Resource
	subs     []Subject
	ns       string
	nsLabels map[string]string
	notice   *Notice
}

type job struct {
	c   chunk
	out chan parsed
}

// readParallel splits the stream at document boundaries, parses chunks of
// documents on opt.Workers goroutines, and makes the callbacks in document
// order on the caller's goroutine.
func readParallel(file string, r io.Reader, opt Options, fn func(*Resource, []Subject) error) error {
	jobs := make(chan job)
	order := make(chan chan parsed, opt.Workers*queuedChunksPerWorker)
	quit := make(chan struct{})
	defer close(quit)
	for i := 0; i < opt.Workers; i++ {
		go func() {
			for j := range jobs {
				j.out <- parseChunk(file, j.c, opt)
			}
		}()
	}
	go split(file, r, jobs, order, quit)
	for out := range order {
		p := <-out
		for _, e := range p.events {
			if err := replay(e, opt, fn); err != nil {
				return err
			}
		}
		if p.err != nil {
			return p.err
		}
	}
	return nil
}

func replay(e event, opt Options, fn func(*Resource, []Subject) error) error {
	if e.notice != nil {
		opt.OnNotice(*e.notice)
		return nil
	}
	if e.res == nil {
		if opt.OnNamespace != nil {
			opt.OnNamespace(e.ns, e.nsLabels)
		}
		return nil
	}
	return fn(e.res, e.subs)
}

// parseChunk parses a chunk's documents, recording the callbacks.
func parseChunk(file string, c chunk, opt Options) parsed {
	var p parsed
	local := opt
	local.Workers = 0
	if opt.OnNamespace != nil {
		local.OnNamespace = func(name string, labels map[string]string) {
			p.events = append(p.events, event{ns: name, nsLabels: labels})
		}
	}
	if opt.OnNotice != nil {
		local.OnNotice = func(n Notice) { p.events = append(p.events, event{notice: &n}) }
	}
	p.err = readDocuments(file, bytes.NewReader(c.data), c.line-1, local, func(res *Resource, subs []Subject) error {
		p.events = append(p.events, event{res: res, subs: subs})
		return nil
	})
	return p
}

// split reads r line by line and sends chunks of whole documents to the
// workers, queueing each chunk's result in order. A document starts at a
// `---` line (or at a directive, `%...`, which the next `---` belongs to).
func split(file string, r io.Reader, jobs chan<- job, order chan<- chan parsed, quit <-chan struct{}) {
	defer close(order)
	defer close(jobs)
	q := queue{jobs: jobs, order: order, quit: quit}
	br := bufio.NewReader(r)
	var buf []byte
	start, line := 1, 0
	directive := false
	for {
		text, err := readLine(br)
		if len(text) > 0 {
			line++
			boundary := false
			switch {
			case text[0] == '%' && !directive:
				boundary, directive = true, true
			case isDocumentStart(text):
				boundary = !directive
				directive = false
			}
			if boundary && len(buf) >= chunkBytes {
				if !q.send(chunk{line: start, data: buf}) {
					return
				}
				buf, start = nil, line
			}
			buf = append(buf, text...)
		}
		if err != nil {
			if len(buf) > 0 && !q.send(chunk{line: start, data: buf}) {
				return
			}
			if !errors.Is(err, io.EOF) {
				q.fail(&Error{File: file, Line: line, Msg: "reading: " + err.Error()})
			}
			return
		}
	}
}

// readLine reads one line, however long, with its newline.
func readLine(br *bufio.Reader) ([]byte, error) {
	text, err := br.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return text, err
	}
	long := append([]byte(nil), text...)
	for errors.Is(err, bufio.ErrBufferFull) {
		text, err = br.ReadSlice('\n')
		long = append(long, text...)
	}
	return long, err
}

// queue hands chunks to the workers and their results, in order, to the
// reader; quit stops it when the reader has given up.
type queue struct {
	jobs  chan<- job
	order chan<- chan parsed
	quit  <-chan struct{}
}

func (q queue) send(c chunk) bool {
	out := make(chan parsed, 1)
	select {
	case q.order <- out:
	case <-q.quit:
		return false
	}
	select {
	case q.jobs <- job{c: c, out: out}:
		return true
	case <-q.quit:
		return false
	}
}

// fail queues an error after the chunks already sent.
func (q queue) fail(err error) {
	out := make(chan parsed, 1)
	out <- parsed{err: err}
	select {
	case q.order <- out:
	case <-q.quit:
	}
}

// isDocumentStart reports a `---` line: the marker alone, or followed by
// white space (and content, a comment or a tag).
func isDocumentStart(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) {
		return false
	}
	rest := line[3:]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r'
}
