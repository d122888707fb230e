package output

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Progress shows how far a run of many jobs has come. Its methods are safe
// for concurrent use.
type Progress interface {
	// Done reports one finished job of platform; line describes it.
	Done(platform string, failed bool, line string)
	// Stop draws the final state and releases the display.
	Stop()
}

// Lines prints one plain line per finished job: for logs and pipes.
type Lines struct {
	mu sync.Mutex
	W  io.Writer
	// Total is the number of jobs the batch submits.
	Total int
	done  int
}

// Done prints "[n/total] line".
func (l *Lines) Done(_ string, _ bool, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done++
	fmt.Fprintf(l.W, "[%d/%d] %s\n", l.done, l.Total, line)
}

// Stop does nothing: every line is already out.
func (l *Lines) Stop() {}

// Bars draws one progress bar per platform and one for the whole batch on a
// terminal, redrawn in place at most ten times a second.
type Bars struct {
	mu       sync.Mutex
	w        io.Writer
	order    []string
	total    map[string]int
	done     map[string]int
	failed   map[string]int
	drawn    int // lines drawn last time, to move back over
	dirty    bool
	stop     chan struct{}
	stopped  sync.WaitGroup
	start    time.Time
	barWidth int
}

// NewBars starts drawing to w, a terminal: total holds each platform's
// number of jobs.
func NewBars(w io.Writer, total map[string]int) *Bars {
	b := &Bars{w: w, total: total, done: map[string]int{}, failed: map[string]int{}, stop: make(chan struct{}),
		start: time.Now(), barWidth: 30}
	for p := range total {
		b.order = append(b.order, p)
	}
	sort.Strings(b.order)
	b.mu.Lock()
	b.draw()
	b.mu.Unlock()
	b.stopped.Add(1)
	go func() {
		defer b.stopped.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				b.mu.Lock()
				if b.dirty {
					b.draw()
				}
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// Done counts a finished job; failures are also printed above the bars.
func (b *Bars) Done(platform string, failed bool, line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done[platform]++
	if failed {
		b.failed[platform]++
		b.clear()
		fmt.Fprintln(b.w, line)
		b.draw()
		return
	}
	b.dirty = true
}

// Stop draws the bars a last time and leaves them on screen.
func (b *Bars) Stop() {
	close(b.stop)
	b.stopped.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.draw()
}

// clear moves the cursor back to the first bar line and erases to the end
// of the screen.
func (b *Bars) clear() {
	if b.drawn > 0 {
		fmt.Fprintf(b.w, "\x1b[%dA\r\x1b[J", b.drawn)
		b.drawn = 0
	}
}

func (b *Bars) draw() {
	b.clear()
	var sb strings.Builder
	width := 0
	for _, p := range b.order {
		width = max(width, len(p))
	}
	width = max(width, len("all"))
	all, allDone, allFailed := 0, 0, 0
	for _, p := range b.order {
		sb.WriteString(b.bar(p, width, b.done[p], b.total[p], b.failed[p]))
		all, allDone, allFailed = all+b.total[p], allDone+b.done[p], allFailed+b.failed[p]
	}
	lines := len(b.order)
	if len(b.order) > 1 {
		sb.WriteString(b.bar("all", width, allDone, all, allFailed))
		lines++
	}
	fmt.Fprint(b.w, sb.String())
	b.drawn, b.dirty = lines, false
}

func (b *Bars) bar(name string, width, done, total, failed int) string {
	filled := 0
	if total > 0 {
		filled = done * b.barWidth / total
	}
	line := fmt.Sprintf("%-*s [%s%s] %d/%d", width, name, strings.Repeat("#", filled), strings.Repeat(".", b.barWidth-filled), done, total)
	if failed > 0 {
		line += fmt.Sprintf("  %d failed", failed)
	}
	return line + fmt.Sprintf("  %s\n", time.Since(b.start).Round(100*time.Millisecond))
}
