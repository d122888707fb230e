// Package discovery finds platform plugin binaries. A plugin is an
// executable file named neural-plugin-NAME; the first directory that has a
// given name wins. Discovery only looks: it neither starts nor verifies
// plugins.
package discovery

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Prefix starts every plugin binary's name.
const Prefix = "neural-plugin-"

// Plugin is one discovered binary.
type Plugin struct {
	Name string
	Path string
}

// Dirs returns the search path in order: explicit dirs, then
// $NEURAL_PLUGIN_PATH, then the user's plugin dir, then the directory of
// the running executable.
func Dirs(explicit []string, userDir string) []string {
	dirs := append([]string(nil), explicit...)
	if env := os.Getenv("NEURAL_PLUGIN_PATH"); env != "" {
		dirs = append(dirs, filepath.SplitList(env)...)
	}
	dirs = append(dirs, userDir)
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dirs = append(dirs, filepath.Dir(exe))
	}
	return dirs
}

// Find returns the plugins in dirs, one per name, sorted by name.
func Find(dirs []string) []Plugin {
	seen := map[string]bool{}
	var out []Plugin
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), Prefix)
			if !ok || name == "" || seen[name] || strings.ContainsAny(name, ".") {
				continue
			}
			path := filepath.Join(dir, e.Name())
			st, err := os.Stat(path)
			if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
				continue
			}
			seen[name] = true
			out = append(out, Plugin{Name: name, Path: path})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the plugin called name, if any.
func Lookup(dirs []string, name string) (Plugin, bool) {
	for _, dir := range dirs {
		path := filepath.Join(dir, Prefix+name)
		if st, err := os.Stat(path); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return Plugin{Name: name, Path: path}, true
		}
	}
	return Plugin{}, false
}
