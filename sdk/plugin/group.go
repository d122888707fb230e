package plugin

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// groupHasLive reports whether process group pgid has a member that is not
// a zombie. Without /proc it trusts the kernel's answer that one exists.
func groupHasLive(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		// After the command name: state, ppid, pgrp.
		if len(fields) > 2 && fields[2] == strconv.Itoa(pgid) && fields[0] != "Z" {
			return true
		}
	}
	return false
}
