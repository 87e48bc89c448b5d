package subject

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// chunkBytes is how much YAML is parsed at once: whole documents, enough
// of them that handing them to a worker costs little. A chunk is one
// stream to the parser (anchors reach from one of its documents to the
// next), whether read on one goroutine or several.
const chunkBytes = 32 << 10

// queuedChunksPerWorker bounds the chunks read ahead of the one whose
// subjects are being handed out, and so the memory a large input takes.
const queuedChunksPerWorker = 4

// chunk is a run of whole YAML documents and the line it starts on.
type chunk struct {
	line int
	data string
}

// parsed is part of what a worker found in a chunk, to be handed out in
// order: the callbacks, and the error that ended the chunk.
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

// A worker hands out what it found in a chunk once it holds this many
// subjects or events, rather than at the end of the chunk: a chunk of
// one large resource then takes memory for a few batches, not for all
// its subjects.
const (
	flushSubjects = 4096
	flushEvents   = 1024
)

// job is a chunk to parse and where its results go, in one or more
// parts; out is closed after the last.
type job struct {
	c   chunk
	out chan parsed
}

// readSequential reads the stream chunk by chunk on the caller's
// goroutine: memory grows with the largest document, not the stream.
func readSequential(file string, r io.Reader, opt Options, fn func(*Resource, []Subject) error) error {
	ch := newChunker(r)
	for {
		c, err := ch.next()
		if c.data != "" {
			if err := readChunk(file, c, opt, fn); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &Error{File: file, Line: ch.line, Msg: "reading: " + err.Error()}
		}
	}
}

// readChunk parses a chunk's documents one after another and reads each
// one's subjects before parsing the next.
func readChunk(file string, c chunk, opt Options, fn func(*Resource, []Subject) error) (err error) {
	defer recoverAsError(file, &err)
	offset := c.line - 1
	p, yerr := newYAMLParser(c.data, offset)
	if yerr != nil {
		return yamlFileError(file, yerr, offset)
	}
	d := doc{file: file, t: p.t}
	for {
		root, done, yerr := p.next()
		if yerr != nil {
			return yamlFileError(file, yerr, offset)
		}
		if done {
			return nil
		}
		if err := d.readDocument(root, opt, fn); err != nil {
			return err
		}
	}
}

// yamlFileError is a syntax error as an *Error naming the line of the
// problem, and of its context when that began on another line.
func yamlFileError(file string, e *yamlError, offset int) *Error {
	line, context, contextLine := e.where()
	msg := "reading YAML: " + e.problem
	if context != "" {
		msg += fmt.Sprintf(" (%s begun on line %d)", context, contextLine+offset)
	}
	return &Error{File: file, Line: line + offset, Msg: msg}
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
				parseChunk(file, j, opt, quit)
			}
		}()
	}
	go split(file, r, jobs, order, quit)
	for out := range order {
		for p := range out {
			for _, e := range p.events {
				if err := replay(e, opt, fn); err != nil {
					return err
				}
			}
			if p.err != nil {
				return p.err
			}
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

// errStopped ends a chunk's parsing when the reader has given up.
var errStopped = errors.New("stopped")

// parseChunk parses a chunk's documents, recording the callbacks and
// handing them to j.out in parts (see flushSubjects).
func parseChunk(file string, j job, opt Options, quit <-chan struct{}) {
	defer close(j.out)
	var p parsed
	subjects := 0
	send := func(p parsed) bool {
		select {
		case j.out <- p:
			return true
		case <-quit:
			return false
		}
	}
	record := func(e event) error {
		p.events = append(p.events, e)
		subjects += len(e.subs)
		if subjects < flushSubjects && len(p.events) < flushEvents {
			return nil
		}
		full := p
		p, subjects = parsed{}, 0
		if !send(full) {
			return errStopped
		}
		return nil
	}
	local := opt
	local.Workers = 0
	if opt.OnNamespace != nil {
		local.OnNamespace = func(name string, labels map[string]string) {
			_ = record(event{ns: name, nsLabels: labels}) // a stop shows at the next resource or the end
		}
	}
	if opt.OnNotice != nil {
		local.OnNotice = func(n Notice) { _ = record(event{notice: &n}) }
	}
	p.err = readChunk(file, j.c, local, func(res *Resource, subs []Subject) error {
		return record(event{res: res, subs: subs})
	})
	if errors.Is(p.err, errStopped) {
		return
	}
	send(p)
}

// split sends the stream's chunks to the workers, queueing each chunk's
// results in order.
func split(file string, r io.Reader, jobs chan<- job, order chan<- chan parsed, quit <-chan struct{}) {
	defer close(order)
	defer close(jobs)
	q := queue{jobs: jobs, order: order, quit: quit}
	ch := newChunker(r)
	for {
		c, err := ch.next()
		if c.data != "" && !q.send(c) {
			return
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			q.fail(&Error{File: file, Line: ch.line, Msg: "reading: " + err.Error()})
			return
		}
	}
}

// chunker reads a stream line by line and cuts it into chunks of whole
// documents. A document starts at a `---` line (or at a directive,
// `%...`, which the next `---` belongs to).
type chunker struct {
	br        *bufio.Reader
	buf       strings.Builder
	start     int // line the buffered chunk starts on
	line      int // lines read
	directive bool
	err       error
}

func newChunker(r io.Reader) *chunker {
	return &chunker{br: bufio.NewReader(r), start: 1}
}

// next returns the next chunk, and the error that ended the stream
// (io.EOF at its end) with the last one.
func (ch *chunker) next() (chunk, error) {
	for ch.err == nil {
		text, err := readLine(ch.br)
		ch.err = err
		if len(text) == 0 {
			continue
		}
		ch.line++
		boundary := false
		switch {
		case text[0] == '%' && !ch.directive:
			boundary, ch.directive = true, true
		case isDocumentStart(text):
			boundary = !ch.directive
			ch.directive = false
		}
		if boundary && ch.buf.Len() >= chunkBytes {
			c := ch.take()
			ch.start = ch.line
			ch.buf.Write(text)
			return c, nil
		}
		ch.buf.Write(text)
	}
	return ch.take(), ch.err
}

// take hands out the buffered chunk.
func (ch *chunker) take() chunk {
	c := chunk{line: ch.start, data: ch.buf.String()}
	ch.buf = strings.Builder{}
	return c
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
	close(out)
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
