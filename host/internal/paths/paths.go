// Package paths names the directories neural-host reads and writes, after
// the XDG base-directory conventions. It creates nothing.
package paths

import (
	"os"
	"path/filepath"
)

func xdg(env, fallback string) string {
	if v := os.Getenv(env); v != "" && filepath.IsAbs(v) {
		return filepath.Join(v, "neural")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, fallback, "neural")
}

// Config is $XDG_CONFIG_HOME/neural: the CLI config and credentials.
func Config() string { return xdg("XDG_CONFIG_HOME", ".config") }

// Data is $XDG_DATA_HOME/neural: installed plugins.
func Data() string { return xdg("XDG_DATA_HOME", ".local/share") }

// State is $XDG_STATE_HOME/neural: logs and job records.
func State() string { return xdg("XDG_STATE_HOME", ".local/state") }

// Plugins is where installed plugins live.
func Plugins() string { return filepath.Join(Data(), "plugins") }

// Logs is where each plugin's log file lives.
func Logs() string { return filepath.Join(State(), "logs") }
