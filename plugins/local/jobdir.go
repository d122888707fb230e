package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// A job directory holds everything about one job:
//
//	job.json        what was submitted (written once, before the rename)
//	state.json      the supervisor's record (atomically replaced)
//	supervisor.pid  the supervisor's process id
//	cancel          present once a cancel was asked for
//	work/           the unpacked bundle, the job's working directory
//	output/         NEURAL_OUTPUT_DIR: metrics.json and artifacts
//	output.log      the job's stdout and stderr
const (
	jobFile        = "job.json"
	stateFile      = "state.json"
	supervisorFile = "supervisor.pid"
	cancelFile     = "cancel"
	workDir        = "work"
	outputDir      = "output"
	logFile        = "output.log"
)

// jobRecord is job.json.
type jobRecord struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	Argv           []string          `json:"argv"`
	MaxRuntime     time.Duration     `json:"max_runtime,omitempty"`
	CancelGrace    time.Duration     `json:"cancel_grace"`
	CreatedAt      time.Time         `json:"created_at"`
}

// stateRecord is state.json, written by the supervisor.
type stateRecord struct {
	Phase     string    `json:"phase"` // queued, running, exited
	Pid       int       `json:"pid,omitempty"`
	StartedAt time.Time `json:"started_at,omitempty"`
	EndedAt   time.Time `json:"ended_at,omitempty"`
	ExitCode  int       `json:"exit_code"`
	Signal    string    `json:"signal,omitempty"`
	Cancelled bool      `json:"cancelled,omitempty"`
	Reason    string    `json:"reason,omitempty"`
}

const (
	phaseQueued  = "queued"
	phaseRunning = "running"
	phaseExited  = "exited"
)

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// writeJSON replaces path atomically, so readers never see half a record.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// alive reports whether a process exists with this id.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// groupAlive reports whether any process remains in process group pgid.
func groupAlive(pgid int) bool { return pgid > 0 && alive(-pgid) }

func jobPath(dir string, parts ...string) string {
	return filepath.Join(append([]string{dir}, parts...)...)
}
