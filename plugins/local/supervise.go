package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

const superviseArg = "supervise"

func isExitError(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}

// reapAll waits for every remaining child until there are none.
func reapAll() {
	for {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return
		}
	}
}

// supervise runs the job in dir as a process group of its own, records its
// state, and ends every process of the group when the job ends. It runs in
// its own session, detached from the plugin and the host.
func supervise(dir string) int {
	var job jobRecord
	if err := readJSON(jobPath(dir, jobFile), &job); err != nil {
		fmt.Fprintln(os.Stderr, "supervise:", err)
		return 1
	}
	finish := func(st stateRecord) int {
		st.Phase, st.EndedAt = phaseExited, time.Now().UTC()
		st.Cancelled = st.Cancelled || exists(jobPath(dir, cancelFile))
		if err := writeJSON(jobPath(dir, stateFile), st); err != nil {
			fmt.Fprintln(os.Stderr, "supervise:", err)
			return 1
		}
		return 0
	}
	if exists(jobPath(dir, cancelFile)) {
		return finish(stateRecord{ExitCode: -1, Reason: "cancelled before it started"})
	}
	logf, err := os.OpenFile(jobPath(dir, logFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return finish(stateRecord{ExitCode: -1, Reason: "cannot open the job log: " + err.Error()})
	}
	defer logf.Close()

	// Orphans of the job are re-parented here, so they can be reaped and
	// none outlives the job as a zombie.
	becomeSubreaper()

	// Catch termination so that the supervisor forwards it to the job and
	// still records the outcome. Caught signals reset to default in the child.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)

	cmd := exec.Command(job.Argv[0], job.Argv[1:]...)
	cmd.Dir = jobPath(dir, workDir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(logf, "neural-plugin-local: cannot start %q: %v\n", job.Argv[0], err)
		return finish(stateRecord{ExitCode: 127, Reason: fmt.Sprintf("cannot start %q: %v", job.Argv[0], err)})
	}
	pgid := cmd.Process.Pid
	started := stateRecord{Phase: phaseRunning, Pid: pgid, StartedAt: time.Now().UTC()}
	if err := writeJSON(jobPath(dir, stateFile), started); err != nil {
		fmt.Fprintln(os.Stderr, "supervise:", err)
	}

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var timeout <-chan time.Time
	if job.MaxRuntime > 0 {
		timeout = time.After(job.MaxRuntime)
	}
	reason := ""
	var waitErr error
	stop := func(why string) {
		if reason == "" {
			reason = why
		}
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		go func() {
			time.Sleep(job.CancelGrace)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}()
	}
loop:
	for {
		select {
		case waitErr = <-done:
			break loop
		case <-timeout:
			stop(fmt.Sprintf("exceeded the maximum run time of %s", job.MaxRuntime))
		case sig := <-sigs:
			stop("stopped by " + sig.String())
		}
	}
	// Whatever the job left behind in its group ends with it, and every
	// descendant is reaped before the outcome is recorded.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	reapAll()

	st := started
	st.ExitCode = cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		st.Signal = ws.Signal().String()
	}
	switch {
	case reason != "":
		st.Reason = reason
	case waitErr != nil && !isExitError(waitErr):
		st.Reason = waitErr.Error()
	}
	return finish(st)
}
