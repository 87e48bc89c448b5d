package main

import (
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressAfter is how long an audit resolves before a progress bar shows:
// a quick audit prints none.
const progressAfter = 500 * time.Millisecond

// progress draws a bar of images resolved on a terminal's stderr, once the
// audit has taken more than a moment; elsewhere (piped, JSON) nothing. The
// bar is schollz/progressbar's: one bar is all the audit needs, which is
// what that library does (mpb is for many concurrent bars).
type progress struct {
	w       io.Writer
	enabled bool
	mu      sync.Mutex
	start   time.Time
	total   int
	done    int
	bar     *progressbar.ProgressBar
}

func newProgress(stderr io.Writer, text bool) *progress {
	return &progress{w: stderr, enabled: text && isTerminal(stderr)}
}

func (p *progress) Start(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start, p.total = time.Now(), total
}

func (p *progress) Done() {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if p.bar == nil && time.Since(p.start) > progressAfter {
		p.bar = progressbar.NewOptions(p.total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription("resolving images"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		p.bar.Set(p.done - 1)
	}
	if p.bar != nil {
		p.bar.Add(1)
	}
}

// finish clears the bar, if one was drawn.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
	}
}
