// Package pluginlog is the logger for plugin code. Its entries go to the
// host as JSON on the plugin's stderr, which the host files, level and
// fields intact, in the plugin's log ($XDG_STATE_HOME/neural/logs/NAME.log,
// secrets redacted); the level is $NEURAL_PLUGIN_LOG_LEVEL (trace, debug,
// info, warn, error; default info), which the host sets from its --log-level.
//
//	log := pluginlog.Logger()
//	log.Info("job created", "job", id, "region", region)
//
// Anything else a plugin writes to stderr or stdout after the handshake
// (fmt.Fprintln(os.Stderr, ...), a library's own output) is kept too: the
// host files each such line at info level, as it came.
//
// The package does not send logs anywhere but the host, and does not
// redact: never log a secret.
package pluginlog

import (
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// EnvLevel sets the plugin's log level.
const EnvLevel = "NEURAL_PLUGIN_LOG_LEVEL"

// stderr is the process's stderr as it was at start-up: go-plugin later
// points os.Stderr at a stream the host reads as plain text, where JSON
// entries would lose their level.
var stderr = os.Stderr

var (
	once   sync.Once
	logger hclog.Logger
)

// Logger returns the plugin's logger, named after its binary.
func Logger() hclog.Logger {
	once.Do(func() {
		level := hclog.LevelFromString(os.Getenv(EnvLevel))
		if level == hclog.NoLevel {
			level = hclog.Info
		}
		name := filepath.Base(os.Args[0])
		if !strings.HasPrefix(name, "neural-plugin-") {
			name = "neural-plugin"
		}
		logger = hclog.New(&hclog.LoggerOptions{Name: name, Level: level, Output: stderr, JSONFormat: true})
	})
	return logger
}
