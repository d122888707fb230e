package fakeworkspace

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/databricks/databricks-sdk-go/service/jobs"
)

// execute plays the cluster's part for a run: wait for the "cluster" to
// start, run the task's Python file with the driver's environment, keep its
// output, and record how it ended.
func (s *Server) execute(rn *run) {
	defer s.wg.Done()
	defer close(rn.done)
	select {
	case <-time.After(s.opts.StartDelay):
	case <-rn.stop:
	case <-s.closing:
	}
	s.mu.Lock()
	if rn.cancelled || rn.forced {
		s.finishLocked(rn, jobs.RunResultStateCanceled, jobs.TerminationCodeCodeUserCanceled, jobs.TerminationTypeTypeSuccess, "Run cancelled.")
		s.mu.Unlock()
		return
	}
	task := rn.task.SparkPythonTask
	file, ok := s.fusePath(task.PythonFile)
	if _, err := os.Stat(file); !ok || err != nil {
		s.finishLocked(rn, jobs.RunResultStateFailed, jobs.TerminationCodeCodeResourceNotFound, jobs.TerminationTypeTypeClientError,
			fmt.Sprintf("Python file %s does not exist.", task.PythonFile))
		s.mu.Unlock()
		return
	}
	args := []string{file}
	for _, p := range task.Parameters {
		// Dynamic value references, as the Jobs service substitutes them.
		p = strings.ReplaceAll(p, "{{job.run_id}}", strconv.FormatInt(rn.id, 10))
		p = strings.ReplaceAll(p, "{{task.run_id}}", strconv.FormatInt(rn.taskRunID, 10))
		args = append(args, p)
	}
	logFile := s.driverLog(rn)
	timeout := time.Duration(rn.sub.TimeoutSeconds) * time.Second
	s.mu.Unlock()

	work, err := os.MkdirTemp("", "fake-driver-")
	if err != nil {
		s.finish(rn, jobs.RunResultStateFailed, jobs.TerminationCodeCodeDriverError, jobs.TerminationTypeTypeInternalError, err.Error())
		return
	}
	defer os.RemoveAll(work)
	cmd := exec.Command(s.opts.Python, args...)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "NEURAL_FUSE_ROOT="+s.Root, "DATABRICKS_RUNTIME_VERSION=15.4", "PYTHONUNBUFFERED=1")
	if c := rn.task.NewCluster; c != nil {
		for k, v := range c.SparkEnvVars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.finish(rn, jobs.RunResultStateFailed, jobs.TerminationCodeCodeDriverError, jobs.TerminationTypeTypeInternalError, err.Error())
		return
	}
	cmd.Stderr = cmd.Stdout
	// The run is RUNNING before its driver can print anything.
	s.mu.Lock()
	rn.execStart = nowMS()
	if !rn.cancelled && !rn.forced {
		rn.lifeCycle, rn.v2 = jobs.RunLifeCycleStateRunning, jobs.RunLifecycleStateV2StateRunning
	}
	s.mu.Unlock()
	if err := cmd.Start(); err != nil {
		s.finish(rn, jobs.RunResultStateFailed, jobs.TerminationCodeCodeDriverError, jobs.TerminationTypeTypeInternalError, err.Error())
		return
	}
	s.mu.Lock()
	rn.pid = cmd.Process.Pid
	if rn.cancelled || rn.forced {
		rn.kill()
	}
	s.mu.Unlock()

	var timer <-chan time.Time
	if timeout > 0 {
		timer = time.After(timeout)
	}
	timedOut := make(chan bool, 1)
	copied := make(chan struct{})
	go func() {
		s.copyOutput(rn, out, logFile)
		close(copied)
	}()
	go func() {
		select {
		case <-timer:
			s.mu.Lock()
			rn.kill()
			s.mu.Unlock()
			timedOut <- true
		case <-copied:
		}
	}()
	<-copied
	err = cmd.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	rn.pid = 0
	if rn.forced {
		return
	}
	select {
	case <-timedOut:
		rn.errMsg = fmt.Sprintf("Run timed out after %d seconds.", rn.sub.TimeoutSeconds)
		s.finishLocked(rn, jobs.RunResultStateTimedout, jobs.TerminationCodeCodeRunExecutionError, jobs.TerminationTypeTypeClientError, rn.errMsg)
		return
	default:
	}
	if rn.cancelled {
		s.finishLocked(rn, jobs.RunResultStateCanceled, jobs.TerminationCodeCodeUserCanceled, jobs.TerminationTypeTypeSuccess, "Run cancelled.")
		return
	}
	if err != nil {
		lines := strings.Split(strings.TrimRight(string(rn.logs), "\n"), "\n")
		rn.errMsg = lines[len(lines)-1]
		rn.errTrace = strings.Join(lines[max(0, len(lines)-20):], "\n")
		s.finishLocked(rn, jobs.RunResultStateFailed, jobs.TerminationCodeCodeRunExecutionError, jobs.TerminationTypeTypeClientError,
			"Task "+rn.task.TaskKey+" failed with message: "+rn.errMsg)
		return
	}
	s.finishLocked(rn, jobs.RunResultStateSuccess, jobs.TerminationCodeCodeSuccess, jobs.TerminationTypeTypeSuccess, "")
}

// driverLog is where the cluster delivers the driver's stdout, as
// <destination>/<cluster-id>/driver/stdout; empty without log delivery.
// s.mu is held.
func (s *Server) driverLog(rn *run) string {
	c := rn.task.NewCluster
	if c == nil || c.ClusterLogConf == nil {
		return ""
	}
	dest := ""
	if c.ClusterLogConf.Dbfs != nil {
		dest = c.ClusterLogConf.Dbfs.Destination
	} else if c.ClusterLogConf.Volumes != nil {
		dest = c.ClusterLogConf.Volumes.Destination
	}
	p, ok := s.fusePath(dest)
	if !ok {
		return ""
	}
	return filepath.Join(p, rn.clusterID, "driver", "stdout")
}

// copyOutput keeps the task's output, the last 5 MB of it, and appends it
// to the delivered driver log as it comes.
func (s *Server) copyOutput(rn *run, out io.Reader, logFile string) {
	var log *os.File
	if logFile != "" && os.MkdirAll(filepath.Dir(logFile), 0o755) == nil {
		log, _ = os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	}
	if log != nil {
		defer log.Close()
	}
	br := bufio.NewReader(out)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if log != nil {
				_, _ = log.Write(line)
			}
			s.mu.Lock()
			rn.logs = append(rn.logs, line...)
			// Trimmed in batches; get-output cuts to the last 5 MB.
			if len(rn.logs) > 2*maxLogs {
				rn.logs = append([]byte(nil), rn.logs[len(rn.logs)-maxLogs:]...)
			}
			rn.truncated = rn.truncated || len(rn.logs) > maxLogs
			s.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

func (s *Server) finish(rn *run, rs jobs.RunResultState, code jobs.TerminationCodeCode, typ jobs.TerminationTypeType, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finishLocked(rn, rs, code, typ, msg)
}

func (s *Server) finishLocked(rn *run, rs jobs.RunResultState, code jobs.TerminationCodeCode, typ jobs.TerminationTypeType, msg string) {
	if rn.forced {
		return
	}
	rn.lifeCycle, rn.v2, rn.result, rn.code, rn.codeType, rn.message = jobs.RunLifeCycleStateTerminated,
		jobs.RunLifecycleStateV2StateTerminated, rs, code, typ, msg
	rn.end = nowMS()
}

// kill ends the run's process group; s.mu is held.
func (rn *run) kill() {
	if rn.pid > 0 {
		_ = syscall.Kill(-rn.pid, syscall.SIGKILL)
	}
}
