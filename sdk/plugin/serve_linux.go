package plugin

import "syscall"

// keepExecutableFromChildren marks close-on-exec the descriptor through
// which the host executed this plugin (see verifiedExe), which the plugin
// inherits open, so that the plugin's own children do not inherit it too.
// Descriptor 3 is the plugin's own executable when the host passed it;
// were it one the plugin opened itself, it is close-on-exec already.
func keepExecutableFromChildren() {
	const fd = 3 // the host's first ExtraFiles entry
	var file, exe syscall.Stat_t
	if syscall.Fstat(fd, &file) != nil || syscall.Stat("/proc/self/exe", &exe) != nil ||
		file.Dev != exe.Dev || file.Ino != exe.Ino {
		return
	}
	syscall.CloseOnExec(fd)
}
