package logtail

import (
	"bytes"
	"context"
	"strings"
)

// DefaultMaxLine bounds one log entry; longer lines are split.
const DefaultMaxLine = 64 << 10

// Tailer reads a log object that grows at its end, such as a driver's
// stdout delivered to storage or a job's output file, by byte offset. A
// position is the offset after the last byte sent, so it works as a cursor
// that survives restarts.
type Tailer struct {
	// ReadAt returns up to n bytes from offset off; fewer than n means the
	// end for now. An object that does not exist yet reads as empty.
	ReadAt func(ctx context.Context, off int64, n int) ([]byte, error)
	// Block is how much one read asks for; at least MaxLine.
	Block int
	// MaxLine bounds one line; zero means DefaultMaxLine.
	MaxLine int
}

// Tail sends the complete lines after pos, each with the offset after it,
// and returns the new position. A trailing line without its newline waits
// for the rest of it, unless final is set (the writer has finished) or it
// has reached MaxLine. A "\r" before the newline is dropped.
func (t Tailer) Tail(ctx context.Context, pos int64, final bool, send func(line string, next int64) error) (int64, error) {
	maxLine := t.MaxLine
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	// A block shorter than a line could split lines that are not long.
	block := max(t.Block, maxLine)
	for {
		chunk, err := t.ReadAt(ctx, pos, block)
		if err != nil {
			return pos, err
		}
		last := len(chunk) < block
		rest := chunk
		for len(rest) > 0 {
			i := bytes.IndexByte(rest, '\n')
			var line []byte
			switch {
			case i >= 0 && i <= maxLine:
				line, rest = rest[:i], rest[i+1:]
				pos += int64(i + 1)
			case i < 0 && len(rest) <= maxLine && !(final && last) && !(len(rest) == len(chunk) && !last):
				// A partial line: the next read starts at it. (A full
				// block of MaxLine bytes without a newline is a long
				// line, split like any other.)
				rest = nil
				continue
			default:
				k := min(len(rest), maxLine)
				line, rest = rest[:k], rest[k:]
				pos += int64(k)
			}
			if err := send(strings.TrimSuffix(string(line), "\r"), pos); err != nil {
				return pos, err
			}
		}
		if last {
			return pos, nil
		}
	}
}
