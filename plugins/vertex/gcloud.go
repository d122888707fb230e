package main

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// gcloudProps reads properties of the gcloud CLI's active configuration the
// way gcloud does: CLOUDSDK_<SECTION>_<NAME> first, then the named
// configuration file under the config directory. It never runs gcloud.
type gcloudProps struct {
	values map[string]string // "section/name" → value from the file
	getenv func(string) string
}

// gcloudConfigDir is $CLOUDSDK_CONFIG, else gcloud's per-user default.
func gcloudConfigDir(getenv func(string) string) string {
	if d := getenv("CLOUDSDK_CONFIG"); d != "" {
		return d
	}
	if runtime.GOOS == "windows" {
		return filepath.Join(getenv("APPDATA"), "gcloud")
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".config", "gcloud")
}

// loadGcloudProps reads the active configuration. A missing or unreadable
// file gives no values: gcloud itself treats it the same way.
func loadGcloudProps(getenv func(string) string) gcloudProps {
	dir := gcloudConfigDir(getenv)
	name := getenv("CLOUDSDK_ACTIVE_CONFIG_NAME")
	if name == "" {
		if b, err := os.ReadFile(filepath.Join(dir, "active_config")); err == nil {
			name = strings.TrimSpace(string(b))
		}
	}
	if name == "" {
		name = "default"
	}
	p := gcloudProps{values: map[string]string{}, getenv: getenv}
	f, err := os.Open(filepath.Join(dir, "configurations", "config_"+name))
	if err != nil {
		return p
	}
	defer f.Close()
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && strings.HasSuffix(line, "]"):
			section = strings.TrimSpace(line[1 : len(line)-1])
		default:
			if k, v, ok := strings.Cut(line, "="); ok && section != "" {
				p.values[section+"/"+strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	return p
}

// get returns property "section/name", or "" when it is not set.
func (p gcloudProps) get(prop string) string {
	env := "CLOUDSDK_" + strings.ToUpper(strings.NewReplacer("/", "_", "-", "_").Replace(prop))
	if v := p.getenv(env); v != "" {
		return v
	}
	return p.values[prop]
}
