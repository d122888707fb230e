// Package launcher is the one program that runs a job inside a platform's
// container: it unpacks the job's bundle into a scratch directory, installs
// the job's requirements with pip, runs the job's command with
// NEURAL_JOB_ID and NEURAL_OUTPUT_DIR set, passes SIGTERM on to it, copies
// its outputs (or just metrics.json) to where the platform collects them,
// and exits with the job's exit code (128+N for a job ended by signal N).
//
// The launcher is a Python script using only the standard library, because
// the platforms' training images have python3 and no Go binary. A plugin
// describes only what differs on its platform in a Config (where the bundle
// and outputs are, which environment variables carry them and the job id,
// the job's argv from sdk/runner) and gets back what its platform request
// needs: the script to upload and its arguments (Args), the command and
// args of a container (Inline), or a file with the arguments built in for
// platforms that run a file without arguments of the plugin's choosing
// (Embedded).
//
// The package does not move files to or from the platform: the bundle must
// be readable inside the container (a path, or a location that Mounts maps
// onto a mounted path) and outputs are copied to a path the platform
// uploads or that is itself a mount.
package launcher

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"strings"
)

//go:embed launcher.py
var script []byte

// embeddedArgs is the line of the script that Embedded replaces.
const embeddedArgs = "\nEMBEDDED_ARGS = None\n"

// Script returns the launcher's source. It is the same for every job, so a
// plugin can upload it once and name it by Hash.
func Script() []byte { return bytes.Clone(script) }

// Hash names the launcher's current version: 16 hex digits of its sha256.
func Hash() string {
	sum := sha256.Sum256(script)
	return hex.EncodeToString(sum[:8])
}

// Value is a setting the launcher reads when it starts: the environment
// variable Env when it is set and not empty, else Default.
type Value struct {
	Env     string
	Default string
}

// Mount maps platform locations starting with Prefix onto the local path
// Path+rest, as the container mounts them.
type Mount struct {
	Prefix string // must not contain "="
	Path   string
}

// Config is what differs between platforms.
type Config struct {
	// Argv is the job's command, from runner.Argv. Elements equal to Python
	// become the launcher's own interpreter.
	Argv   []string
	Python string

	// Bundle is the job bundle (tar.gz) to unpack into the work directory;
	// unset when the job ships none or the platform unpacked it already.
	Bundle Value
	// InPlace runs the job in the launcher's working directory, where the
	// platform unpacked the bundle, instead of a fresh scratch directory.
	InPlace bool
	// ScratchDirs are parents for the scratch directory, the first that
	// exists winning; none exist, the system's temporary directory.
	ScratchDirs []string

	// Mounts map locations (bundle and outputs) onto local paths; with
	// Mounts set, a location none of them matches is an error. MountRootEnv
	// names a variable whose value prefixes every mapped path (where tests
	// keep their stand-in mounts).
	Mounts       []Mount
	MountRootEnv string

	// OutputDir is the job's NEURAL_OUTPUT_DIR; unset, a directory in the
	// work directory, whose contents then only survive through
	// CopyOutputsTo.
	OutputDir Value
	// CopyOutputsTo receives everything in the output directory after the
	// job ends, whatever its exit code.
	CopyOutputsTo Value
	// CopyMetricsTo receives the output directory's metrics.json, if any,
	// after the job ends.
	CopyMetricsTo Value

	// JobID is the job's NEURAL_JOB_ID; unset, or a {{...}} reference the
	// platform left unsubstituted, the job runs without it.
	JobID Value
	// Env is added to the job's environment.
	Env map[string]string
	// Requirements are pip-installed in the work directory before the job.
	Requirements []string

	// MergeStderr sends the job's stderr to the launcher's stdout, for
	// platforms that keep only stdout in order with the job's lines.
	MergeStderr bool
	// Announce prints the command before running it.
	Announce bool
}

// Flags returns the launcher's arguments before the job's command, ending
// with "--".
func (c Config) Flags() []string {
	var a []string
	value := func(flag string, v Value) {
		if v.Default != "" {
			a = append(a, flag, v.Default)
		}
		if v.Env != "" {
			a = append(a, flag+"-env", v.Env)
		}
	}
	str := func(flag, v string) {
		if v != "" {
			a = append(a, flag, v)
		}
	}
	boolean := func(flag string, v bool) {
		if v {
			a = append(a, flag)
		}
	}
	str("--python", c.Python)
	value("--bundle", c.Bundle)
	boolean("--in-place", c.InPlace)
	for _, d := range c.ScratchDirs {
		a = append(a, "--scratch", d)
	}
	for _, m := range c.Mounts {
		a = append(a, "--mount", m.Prefix+"="+m.Path)
	}
	str("--mount-root-env", c.MountRootEnv)
	value("--output-dir", c.OutputDir)
	value("--output", c.CopyOutputsTo)
	value("--metrics-to", c.CopyMetricsTo)
	value("--job-id", c.JobID)
	if len(c.Env) > 0 {
		b, _ := json.Marshal(c.Env)
		a = append(a, "--env", string(b))
	}
	for _, r := range c.Requirements {
		a = append(a, "--requirement", r)
	}
	boolean("--merge-stderr", c.MergeStderr)
	boolean("--announce", c.Announce)
	return append(a, "--")
}

// Args returns the launcher's full argument list: Flags, then the job's
// command. A plugin runs Script with them.
func (c Config) Args() []string { return append(c.Flags(), c.Argv...) }

// Inline returns a container's command and args that run the launcher with
// the given interpreter and no file to ship: the script and flags are the
// command and the job's own command stays the args, as the platform shows
// them.
func (c Config) Inline(python string) (command, args []string) {
	command = append([]string{python, "-c", string(script)}, c.Flags()...)
	return command, append([]string{}, c.Argv...)
}

// Embedded returns the launcher with Args built in, for platforms that run
// a file from the bundle and pass it no arguments of the plugin's choosing.
func (c Config) Embedded() []byte {
	b, _ := json.Marshal(c.Args())
	// The JSON sits in a raw ''' string, which a quote would end.
	lit := strings.ReplaceAll(string(b), "'", `\u0027`)
	return bytes.Replace(script, []byte(embeddedArgs), []byte("\nEMBEDDED_ARGS = json.loads(r'''"+lit+"''')\n"), 1)
}
