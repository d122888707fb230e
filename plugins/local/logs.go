package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// maxLine bounds one log entry; longer lines are split.
const maxLine = 64 << 10

// pollInterval is how often a followed log is checked for new output.
const pollInterval = 100 * time.Millisecond

// Logs streams output.log from the byte offset in the cursor. Following, it
// sends whole lines only and ends once the job is terminal and drained.
func (p *Platform) Logs(ctx context.Context, req sdk.LogsRequest, fn sdk.LogFunc) error {
	dir, err := p.jobDir(req.ID)
	if err != nil {
		return err
	}
	var offset int64
	if req.Cursor != "" {
		offset, err = strconv.ParseInt(req.Cursor, 10, 64)
		if err != nil || offset < 0 {
			return sdk.FieldError("cursor", fmt.Sprintf("%q is not a cursor of a local job", req.Cursor), "use a cursor printed with the logs, or omit it")
		}
	}
	buf := make([]byte, maxLine)
	for {
		// Read the job's state before the file: output written before the
		// job ended is then sure to be in this read.
		terminal := true
		if req.Follow {
			st, err := p.status(req.ID)
			if err != nil {
				return err
			}
			terminal = st.Terminal
		}
		sent, err := sendLines(filepath.Join(dir, logFile), &offset, buf, terminal, fn)
		if err != nil {
			return err
		}
		if terminal && !sent {
			return nil
		}
		if sent {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// sendLines sends the complete lines after *offset, and the trailing partial
// line too when flush is set. It reports whether it sent anything.
func sendLines(path string, offset *int64, buf []byte, flush bool, fn sdk.LogFunc) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	sent := false
	for {
		n, err := f.ReadAt(buf, *offset)
		if err != nil && !errors.Is(err, io.EOF) {
			return sent, err
		}
		chunk := buf[:n]
		if n == 0 {
			return sent, nil
		}
		for {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				break
			}
			*offset += int64(i + 1)
			if err := fn(sdk.LogEntry{Source: "output", Line: string(chunk[:i]), Cursor: strconv.FormatInt(*offset, 10)}); err != nil {
				return true, err
			}
			sent = true
			chunk = chunk[i+1:]
		}
		if len(chunk) > 0 && (flush || n == len(buf) && len(chunk) == n) {
			*offset += int64(len(chunk))
			if err := fn(sdk.LogEntry{Source: "output", Line: string(chunk), Cursor: strconv.FormatInt(*offset, 10)}); err != nil {
				return true, err
			}
			sent = true
		}
		if n < len(buf) {
			return sent, nil
		}
	}
}
