package harness

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress prints a one-line text progress bar, redrawn with \r, while a
// phase creates objects or waits for convergence. A nil writer prints nothing.
type progress struct {
	w     io.Writer
	label string
	total int64
	done  atomic.Int64
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startProgress(w io.Writer, label string, total int) *progress {
	p := &progress{w: w, label: label, total: int64(total), start: time.Now(), stop: make(chan struct{})}
	if w == nil {
		return p
	}
	p.wg.Go(func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw()
			}
		}
	})
	return p
}

func (p *progress) add(n int) { p.done.Add(int64(n)) }
func (p *progress) set(n int) { p.done.Store(int64(n)) }

func (p *progress) draw() {
	const width = 30
	done := p.done.Load()
	frac := 0.0
	if p.total > 0 {
		frac = min(1, float64(done)/float64(p.total))
	}
	bar := strings.Repeat("=", int(frac*width))
	if len(bar) < width {
		bar += ">" + strings.Repeat(" ", width-len(bar)-1)
	}
	el := time.Since(p.start)
	rate := float64(done) / max(el.Seconds(), 1e-3)
	fmt.Fprintf(p.w, "\r  %-34s [%s] %7d/%-7d %7.0f/s %6.1fs", p.label, bar, done, p.total, rate, el.Seconds())
}

// end draws the final state and ends the line.
func (p *progress) end() {
	if p.w == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.draw()
	fmt.Fprintln(p.w)
}
