// Package cli is the neural-host command line: it parses flags, calls the
// package that does the work (submission, wait, batch, budget, the store
// and the launcher's plugins) and hands the result to its view in package
// output. It holds no platform logic, and renders nothing itself: one file
// per top-level command, named after it.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/neural-dsl/neural-host/host/internal/budget"
	"github.com/neural-dsl/neural-host/host/internal/credentials"
	"github.com/neural-dsl/neural-host/host/internal/credentials/prompt"
	"github.com/neural-dsl/neural-host/host/internal/discovery"
	"github.com/neural-dsl/neural-host/host/internal/index"
	"github.com/neural-dsl/neural-host/host/internal/launcher"
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/host/internal/paths"
	"github.com/neural-dsl/neural-host/host/internal/project"
	"github.com/neural-dsl/neural-host/host/internal/settings"
	"github.com/neural-dsl/neural-host/host/internal/store"
	"github.com/neural-dsl/neural-host/host/internal/submission"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/neural-dsl/neural-host/sdk/plugin"
	"github.com/urfave/cli/v2"
)

// Streams are the process's standard streams; tests substitute them.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// session is what every command gets: the plugin manager and the printer.
type session struct {
	mgr     *launcher.Manager
	out     *output.Printer
	errw    io.Writer
	in      io.Reader
	log     hclog.Logger
	dirs    []string
	version string
	// interactive is true when stdin and stderr are terminals.
	interactive bool
	// jobs is the local job index, opened on first use.
	jobs *jobIndex
	// credentialsPath is the credentials file auth configure writes.
	credentialsPath string
	// prices are the user's own price files.
	prices budget.Overrides
}

const sessionKey = "session"

func sess(c *cli.Context) *session { return c.App.Metadata[sessionKey].(*session) }

// Main runs the CLI and returns the process exit code: 130 after SIGINT and
// 143 after SIGTERM, which cancel the command. If the command has not
// returned and stopped its plugins within unwindGrace of the signal, or if a
// second signal comes, Main kills the plugins' process groups and ends the
// process itself, with the same code.
func Main(version string, args []string, st Streams) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := watchSignals(cancel, st.Err)
	defer signals.stop()
	app := newApp(version, st)
	app.Metadata[signalsKey] = signals
	err := app.RunContext(ctx, completionArgs(app, args))
	s, _ := app.Metadata[sessionKey].(*session)
	if s != nil {
		err = s.mgr.Explain(err)
		s.mgr.Close()
		s.jobs.close()
	}
	if err == nil {
		return ExitOK
	}
	interrupted := ctx.Err() != nil
	code := exitCode(err, interrupted)
	if code == ExitInterrupted {
		code = signals.exitCode()
	}
	format := output.Table
	if s != nil {
		format = s.out.Format
	}
	redact := func(text string) string { return text }
	if s != nil {
		redact = s.mgr.Redact
	}
	printError(st.Err, format, err, code, redact)
	return code
}

func newApp(version string, st Streams) *cli.App {
	app := &cli.App{
		Name:    "neural-host",
		Usage:   "submit, watch and fetch training jobs on any installed platform",
		Version: version,
		Reader:  st.In, Writer: st.Out, ErrWriter: st.Err,
		HideVersion:          true,
		EnableBashCompletion: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "output format: table or json"},
			&cli.StringSliceFlag{Name: "plugin-dir", Usage: "look for plugins in `DIR` first (repeatable)"},
			&cli.StringFlag{Name: "log-level", Value: "warn", EnvVars: []string{"NEURAL_LOG_LEVEL"}, Usage: "host log level on stderr: trace, debug, info, warn, error"},
			&cli.DurationFlag{Name: "start-timeout", Value: 30 * time.Second, EnvVars: []string{"NEURAL_PLUGIN_START_TIMEOUT"}, Usage: "how long a plugin may take to start"},
			&cli.StringFlag{Name: "config", Usage: "CLI config `FILE`", Value: filepath.Join(paths.Config(), "config.yaml"), EnvVars: []string{"NEURAL_CONFIG"}},
		},
		Metadata: map[string]interface{}{},
		Before: func(c *cli.Context) error {
			return setup(c, version, st)
		},
		Commands: []*cli.Command{
			platformsCommand(), pluginsCommand(), initCommand(), authCommand(), jobCommand(), batchCommand(), costCommand(), filesCommand(), endpointCommand(), versionCommand(), completionCommand(),
		},
		OnUsageError:   func(_ *cli.Context, err error, _ bool) error { return usageError(err.Error()) },
		ExitErrHandler: func(*cli.Context, error) {},
	}
	for _, cmd := range app.Commands {
		setUsageErrors(cmd)
	}
	return app
}

func setUsageErrors(cmd *cli.Command) {
	cmd.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return usageError(err.Error()) }
	for _, sub := range cmd.Subcommands {
		setUsageErrors(sub)
	}
}

// newResolver builds plugin resolution from the search dirs, the config
// file's dev overrides and the project's lock file.
func newResolver(dirs []string, file settings.File) (*discovery.Resolver, error) {
	overrides, err := file.Overrides(os.Getenv)
	if err != nil {
		return nil, usageError(err.Error())
	}
	r := &discovery.Resolver{SearchDirs: dirs, DevOverrides: overrides}
	exeDir := dirs[len(dirs)-1]
	for _, d := range dirs {
		if d != exeDir {
			r.Stores = append(r.Stores, &store.Store{Dir: d})
		}
	}
	if cwd, err := os.Getwd(); err == nil {
		proj, ok, err := project.Find(cwd)
		if err != nil {
			return nil, err
		}
		if ok {
			lock, err := proj.Lock()
			if err != nil {
				return nil, usageError(err.Error())
			}
			r.Lock, r.LockPath = &lock, filepath.Join(proj.Dir, project.LockFile)
		}
	}
	return r, nil
}

// installDir is where plugins install writes: the first --plugin-dir, else
// the user's plugin dir.
func installDir(c *cli.Context) string {
	if d := c.StringSlice("plugin-dir"); len(d) > 0 {
		return d[0]
	}
	return paths.Plugins()
}

func setup(c *cli.Context, version string, st Streams) error {
	format := output.Format(c.String("output"))
	if format != output.Table && format != output.JSON {
		return usageError(fmt.Sprintf("--output %q: use table or json", format))
	}
	level := hclog.LevelFromString(c.String("log-level"))
	if level == hclog.NoLevel {
		return usageError(fmt.Sprintf("--log-level %q: use trace, debug, info, warn or error", c.String("log-level")))
	}
	if d := c.Duration("start-timeout"); d < 0 {
		return sdk.FieldError("start-timeout", fmt.Sprintf("must not be negative, got %s", d),
			"pass --start-timeout (or NEURAL_PLUGIN_START_TIMEOUT) a duration such as 30s; 0 means the default, 30s")
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "neural-host", Level: level, Output: st.Err, Color: hclog.ColorOff})
	file, err := settings.Load(c.String("config"))
	if err != nil {
		return usageError(err.Error())
	}
	dirs := discovery.Dirs(c.StringSlice("plugin-dir"), paths.Plugins())
	resolver, err := newResolver(dirs, file)
	if err != nil {
		return err
	}
	color := false
	if f, ok := st.Out.(*os.File); ok {
		color = output.ColorWanted(f)
	}
	credsPath := filepath.Join(paths.Config(), credentials.FileName)
	creds, err := loadCredentials(credsPath, logger)
	if err != nil {
		return err
	}
	s := &session{
		mgr: &launcher.Manager{
			Resolver: resolver, LogDir: paths.Logs(), LogLevel: pluginLogLevel(level), StartTimeout: c.Duration("start-timeout"),
			Settings: file, Credentials: creds.Platforms, Logger: logger,
		},
		out:  &output.Printer{Format: format, Out: st.Out, Err: st.Err, Color: color},
		errw: st.Err, in: st.In, log: logger, dirs: dirs, version: version,
		interactive: isTerminal(st.In) && isTerminal(st.Err),
		jobs:        &jobIndex{path: filepath.Join(paths.State(), index.FileName)}, credentialsPath: credsPath,
		prices: budget.Overrides{Dir: filepath.Join(paths.Config(), "prices")},
	}
	c.App.Metadata[sessionKey] = s
	if w, ok := c.App.Metadata[signalsKey].(*signalWatch); ok {
		w.format.Store(format)
	}
	return nil
}

// pluginLogLevel keeps plugin log files at info or more detail: they are
// files, read after the fact.
func pluginLogLevel(host hclog.Level) string {
	if host < hclog.Info {
		return strings.ToLower(host.String())
	}
	return "info"
}

// isTerminal asks the terminal driver: /dev/null is a character device too,
// and a command run with its streams there must not wait for an answer.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && prompt.IsTerminal(f)
}

// ask prints show for people and asks question on stderr, unless --yes
// was given, output is JSON, or nobody is at a terminal to answer: then
// the command goes ahead. A "no" is a usage error: nothing was sent.
func (s *session) ask(c *cli.Context, show output.View, question string) error {
	if !s.interactive || c.Bool("yes") || s.out.Format == output.JSON {
		return nil
	}
	if show != nil {
		if err := show.Human(s.out); err != nil {
			return err
		}
	}
	fmt.Fprint(s.errw, question+" [y/N] ")
	answer, _ := bufio.NewReader(s.in).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return usageError("not submitted")
	}
	return nil
}

// submitter is the session's submission.Submitter over the job index.
func (s *session) submitter(ctx context.Context) (*submission.Submitter, error) {
	db, err := s.jobs.open(ctx)
	if err != nil {
		return nil, err
	}
	return &submission.Submitter{DB: db, Explain: s.mgr.Explain, Redact: s.mgr.Redact, Log: s.log}, nil
}

// errorText is err as the user may see it: explained and redacted.
func (s *session) errorText(err error) string { return s.mgr.Redact(s.mgr.Explain(err).Error()) }

func installed(s *session) []string { return s.mgr.Resolver.Names() }

// errInterrupted marks a command stopped by Ctrl-C.
var errInterrupted = errors.New("interrupted")

// unwindGrace is how long a command has, after SIGINT or SIGTERM, to return
// and stop its plugins before the process ends anyway. A plugin that does
// not exit when asked gets two seconds; a signalled host does not wait that
// long.
const unwindGrace = 1500 * time.Millisecond

const signalsKey = "signals"

// signalWatch turns SIGINT and SIGTERM into the cancellation of the
// command, and makes sure the process then ends: nothing a plugin does, or
// fails to do, can keep it alive. A second signal ends it at once, as it
// does Terraform.
type signalWatch struct {
	ch   chan os.Signal
	done chan struct{}
	errw io.Writer
	// got is the first signal received.
	got atomic.Value
	// format is the output format, once the flags are parsed.
	format atomic.Value
}

func watchSignals(cancel context.CancelFunc, errw io.Writer) *signalWatch {
	w := &signalWatch{ch: make(chan os.Signal, 2), done: make(chan struct{}), errw: errw}
	signal.Notify(w.ch, os.Interrupt, syscall.SIGTERM)
	go w.run(cancel)
	return w
}

func (w *signalWatch) run(cancel context.CancelFunc) {
	select {
	case sig := <-w.ch:
		w.got.Store(sig)
	case <-w.done:
		return
	}
	cancel()
	timer := time.NewTimer(unwindGrace)
	defer timer.Stop()
	select {
	case <-w.done:
		return
	case <-w.ch:
	case <-timer.C:
	}
	// Plugins that outlive the host end themselves, but only within a
	// second, and only if they are not stuck.
	plugin.KillAll()
	format, _ := w.format.Load().(output.Format)
	code := w.exitCode()
	printError(w.errw, format, context.Canceled, code, nil)
	os.Exit(code)
}

// exitCode is 128 plus the number of the signal received, as a shell
// reports a command killed by it.
func (w *signalWatch) exitCode() int {
	if w.got.Load() == syscall.SIGTERM {
		return ExitTerminated
	}
	return ExitInterrupted
}

// stop ends the watch once the command is over.
func (w *signalWatch) stop() {
	signal.Stop(w.ch)
	close(w.done)
}
