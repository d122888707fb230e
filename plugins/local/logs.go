package main

import (
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
	"github.com/neural-dsl/neural-host/sdk/logtail"
)

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
	tail := logtail.Tailer{ReadAt: fileReader(filepath.Join(dir, logFile))}
	return logtail.Loop{
		Follow:   req.Follow,
		Interval: pollInterval,
		Terminal: func(context.Context) (bool, error) {
			st, err := p.status(req.ID)
			return st.Terminal, err
		},
		Pass: func(ctx context.Context, final bool) (bool, error) {
			sent := false
			var err error
			offset, err = tail.Tail(ctx, offset, final, func(line string, next int64) error {
				sent = true
				return fn(sdk.LogEntry{Source: "output", Line: line, Cursor: strconv.FormatInt(next, 10)})
			})
			return sent, err
		},
	}.Run(ctx)
}

// fileReader reads the log file by offset; a job that has written nothing
// yet may have none.
func fileReader(path string) func(context.Context, int64, int) ([]byte, error) {
	return func(_ context.Context, off int64, n int) ([]byte, error) {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		buf := make([]byte, n)
		k, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return buf[:k], nil
	}
}
