package main

import (
	"fmt"
	"path"
	"strings"
)

// location is a file or directory in workspace storage: DBFS, or a Unity
// Catalog volume reached through the Files API.
type location struct {
	// volume is set for /Volumes/... paths; DBFS otherwise.
	volume bool
	// path is absolute and clean: /a/b for DBFS, /Volumes/c/s/v/... for volumes.
	path string
}

// parseLocation accepts dbfs:/path, dbfs:/Volumes/..., and /Volumes/....
func parseLocation(uri string) (location, error) {
	var p string
	switch {
	case strings.HasPrefix(uri, "dbfs:/"):
		p = strings.TrimPrefix(uri, "dbfs:")
	case strings.HasPrefix(uri, "/Volumes/"):
		p = uri
	default:
		return location{}, fmt.Errorf("%q is neither dbfs:/... nor /Volumes/...", uri)
	}
	if strings.Contains(p, "\x00") {
		return location{}, fmt.Errorf("%q contains a NUL byte", uri)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return location{}, fmt.Errorf("%q contains '..'", uri)
		}
	}
	p = path.Clean(p)
	if p == "/Volumes" || strings.HasPrefix(p, "/Volumes/") {
		// A volume path names catalog, schema and volume before any file.
		if len(strings.Split(strings.TrimPrefix(p, "/"), "/")) < 4 {
			return location{}, fmt.Errorf("%q does not name a catalog, schema and volume", uri)
		}
		return location{volume: true, path: p}, nil
	}
	return location{path: p}, nil
}

func (l location) String() string {
	if l.volume {
		return l.path
	}
	return "dbfs:" + l.path
}

// join returns the location of elem below l.
func (l location) join(elem ...string) location {
	return location{volume: l.volume, path: path.Join(append([]string{l.path}, elem...)...)}
}

func (l location) parent() location { return location{volume: l.volume, path: path.Dir(l.path)} }

// within reports whether l is o or below it.
func (l location) within(o location) bool {
	return l.volume == o.volume && (l.path == o.path || strings.HasPrefix(l.path, strings.TrimSuffix(o.path, "/")+"/"))
}
