package plugin

import (
	"bytes"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// maxStdioLine bounds a line kept whole; a longer one is filed in pieces.
const maxStdioLine = 64 << 10

// stdioLogger files what a plugin writes to os.Stdout or os.Stderr after
// the handshake, which go-plugin carries to the host over gRPC and would
// otherwise discard: each line becomes an info entry of the plugin's log.
type stdioLogger struct {
	log    hclog.Logger
	stream string
	mu     sync.Mutex
	buf    []byte
}

func (w *stdioLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 && len(w.buf) < maxStdioLine {
			return len(p), nil
		}
		if i < 0 {
			i = maxStdioLine
		}
		w.log.Info(string(bytes.TrimSuffix(w.buf[:i], []byte("\r"))), "stream", w.stream)
		w.buf = w.buf[min(i+1, len(w.buf)):]
	}
}
