// Package logtail is the reading side of `job logs`: the loop that follows
// a job's log until the job has ended and its last lines have arrived, and a
// tailer that turns a growing log object read by byte offset into lines.
//
// It does not know where logs live: a plugin supplies the pass that reads
// what is new (from CloudWatch, Cloud Logging, a file or an object store),
// and the job's state.
package logtail

import (
	"context"
	"time"
)

// Loop follows one job's log.
type Loop struct {
	// Follow keeps reading until the job has ended; without it one pass is
	// made, with final set.
	Follow bool
	// Interval is the wait after a pass that found nothing new.
	Interval time.Duration
	// Settle is the wait after the job is first seen to have ended, before
	// the pass that drains the log, for platforms whose log service takes
	// a while to ingest the last lines. Zero drains at once.
	Settle time.Duration
	// MaxInterval caps the back-off after transient errors; zero means
	// 16 × Interval.
	MaxInterval time.Duration
	// Transient reports a pass error a follower waits out with back-off
	// (a rate-limited log API, a dropped connection). Nil means none.
	Transient func(error) bool
	// Terminal reports whether the job has ended. It is called before each
	// pass, so output written before the end is sure to be read by the pass
	// that sees the end.
	Terminal func(ctx context.Context) (bool, error)
	// Pass sends whatever is new and reports whether it sent anything.
	// final is set once the job has ended: a partial last line is then
	// complete.
	Pass func(ctx context.Context, final bool) (sent bool, err error)
}

// Run reads the log. Following, it returns once a pass made after the job
// ended (and after Settle) found nothing new: that pass has drained it.
func (l Loop) Run(ctx context.Context) error {
	if !l.Follow {
		// The state is read all the same: it is what tells a job that does
		// not exist from one that has written nothing.
		if _, err := l.Terminal(ctx); err != nil {
			return err
		}
		_, err := l.Pass(ctx, true)
		return err
	}
	maxWait := l.MaxInterval
	if maxWait <= 0 {
		maxWait = 16 * l.Interval
	}
	wait, settled := l.Interval, false
	for {
		terminal, err := l.Terminal(ctx)
		if err != nil {
			return err
		}
		if terminal && !settled {
			settled = true
			if err := sleep(ctx, l.Settle); err != nil {
				return err
			}
		}
		sent, err := l.Pass(ctx, terminal)
		switch {
		case err != nil && l.Transient != nil && l.Transient(err):
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			wait = min(2*wait, maxWait)
			continue
		case err != nil:
			return err
		}
		wait = l.Interval
		switch {
		case terminal && !sent:
			return nil
		case sent:
			// More may be waiting behind a page or block limit.
			continue
		}
		if err := sleep(ctx, l.Interval); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
