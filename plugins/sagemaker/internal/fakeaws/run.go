package fakeaws

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/neural-dsl/neural-host/sdk/bundle"
)

// logGroup is where SageMaker writes training output.
const logGroup = "/aws/sagemaker/TrainingJobs"

// run plays a framework container in script mode for every instance of j.
func (s *SageMaker) run(j *trainingJob) {
	defer close(j.done)
	outcome := func(status, secondary, msg, failure string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		j.failure = failure
		j.ended = time.Now()
		if !j.started.IsZero() {
			j.trainSecs = max(1, int(math.Ceil(j.ended.Sub(j.started).Seconds())))
			j.billSecs = j.trainSecs
			if j.in.EnableManagedSpotTraining {
				j.billSecs = max(1, int(math.Ceil(float64(j.trainSecs)*s.env.opts.SpotBillable)))
			}
		}
		s.transition(j, status, secondary, msg)
	}
	select {
	case <-time.After(s.env.opts.StartDelay):
	case <-j.stop:
		outcome("Stopped", "Stopped", "Training job stopped", "")
		return
	}
	s.mu.Lock()
	s.transition(j, "InProgress", "Downloading", "Downloading input data")
	s.mu.Unlock()
	dir, err := os.MkdirTemp("", "fakeaws-job-")
	if err != nil {
		outcome("Failed", "Failed", "Training job failed", "InternalServerError: "+err.Error())
		return
	}
	defer os.RemoveAll(dir)
	code := filepath.Join(dir, "code")
	hp := func(k string) string {
		var v string
		if json.Unmarshal([]byte(j.in.HyperParameters[k]), &v) != nil {
			v = j.in.HyperParameters[k]
		}
		return v
	}
	if err := s.fetchSource(hp("sagemaker_submit_directory"), code); err != nil {
		outcome("Failed", "Failed", "Training job failed", "ClientError: Failed to download the source code: "+err.Error())
		return
	}
	program := hp("sagemaker_program")
	if _, err := os.Stat(filepath.Join(code, program)); err != nil || program == "" {
		outcome("Failed", "Failed", "Training job failed", fmt.Sprintf("AlgorithmError: ExecuteUserScriptError: script %q not found in the source directory", program))
		return
	}
	s.mu.Lock()
	j.started = time.Now()
	s.transition(j, "InProgress", "Training", "Training image download completed. Training in progress.")
	s.mu.Unlock()

	count := *j.in.ResourceConfig.InstanceCount
	hosts := make([]string, count)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("algo-%d", i+1)
	}
	runtime := 86400
	if sc := j.in.StoppingCondition; sc != nil && sc.MaxRuntimeInSeconds != nil {
		runtime = *sc.MaxRuntimeInSeconds
	}
	deadline := time.After(time.Duration(runtime) * time.Second)
	results := make([]hostResult, count)
	var wg sync.WaitGroup
	cancel := make(chan struct{})
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.runHost(j, dir, code, program, h, hosts, cancel)
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	timedOut, stopped := false, false
	select {
	case <-finished:
	case <-deadline:
		timedOut = true
	case <-j.stop:
		stopped = true
	}
	close(cancel)
	<-finished

	s.mu.Lock()
	s.transition(j, j.status, "Uploading", "Uploading generated training model")
	s.mu.Unlock()
	artifacts, uerr := s.upload(j, filepath.Join(dir, hosts[0]))
	if uerr == nil {
		s.mu.Lock()
		j.artifacts = artifacts
		s.mu.Unlock()
	}
	switch {
	case stopped:
		outcome("Stopped", "Stopped", "Training job stopped", "")
	case timedOut:
		outcome("Stopped", "MaxRuntimeExceeded", "Training job stopped: it exceeded MaxRuntimeInSeconds", "")
	case uerr != nil:
		outcome("Failed", "Failed", "Training job failed", "ClientError: Failed to upload model artifacts: "+uerr.Error())
	default:
		for _, r := range results {
			if r.code != 0 {
				outcome("Failed", "Failed", "Training job failed", fmt.Sprintf("AlgorithmError: ExecuteUserScriptError:\nExitCode %d\nErrorMessage %q\nCommand \"%s %s\", exit code: %d", r.code, r.lastLine, s.env.opts.Python, program, r.code))
				return
			}
		}
		outcome("Completed", "Completed", "Training job completed", "")
	}
}

type hostResult struct {
	code     int
	lastLine string
}

// runHost runs the program as one instance, its output going to the
// host's log stream, until it ends or cancel is closed.
func (s *SageMaker) runHost(j *trainingJob, dir, code, program, host string, hosts []string, cancel <-chan struct{}) hostResult {
	stream := fmt.Sprintf("%s/%s-%d", j.in.TrainingJobName, host, time.Now().Unix())
	s.env.Logs.CreateStream(logGroup, stream)
	home := filepath.Join(dir, host)
	model, data := filepath.Join(home, "model"), filepath.Join(home, "output", "data")
	for _, d := range []string{model, data, filepath.Join(home, "checkpoints")} {
		os.MkdirAll(d, 0o755)
	}
	hostsJSON, _ := json.Marshal(hosts)
	// The stand-in's containers have no network: pip fails at once
	// instead of trying to reach an index.
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8", "PYTHONUNBUFFERED=1",
		"PIP_NO_INDEX=1", "PIP_DISABLE_PIP_VERSION_CHECK=1",
		"SM_MODEL_DIR=" + model, "SM_OUTPUT_DATA_DIR=" + data, "SM_CHECKPOINT_DIR=" + filepath.Join(home, "checkpoints"),
		"SM_CURRENT_HOST=" + host, "SM_HOSTS=" + string(hostsJSON), "SM_NUM_GPUS=0", "TRAINING_JOB_NAME=" + j.in.TrainingJobName}
	for k, v := range j.in.Environment {
		env = append(env, k+"="+v)
	}
	cmd := exec.Command(s.env.opts.Python, program)
	cmd.Dir, cmd.Env = code, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		s.env.Logs.Append(logGroup, stream, time.Now(), err.Error())
		return hostResult{code: 127, lastLine: err.Error()}
	}
	var last string
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			last = sc.Text()
			s.env.Logs.Append(logGroup, stream, time.Now(), last)
		}
		io.Copy(io.Discard, pr)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	var err error
	select {
	case err = <-exited:
	case <-cancel:
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case err = <-exited:
		case <-time.After(s.env.opts.StopGrace):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			err = <-exited
		}
	}
	<-read
	res := hostResult{lastLine: last}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
		if res.code < 0 {
			res.code = 137
		}
	} else if err != nil {
		res.code = 1
	}
	return res
}

// fetchSource downloads and unpacks the submit directory, as the
// framework container's toolkit does.
func (s *SageMaker) fetchSource(uri, dst string) error {
	bucket, key, ok := splitS3(uri)
	if !ok {
		return fmt.Errorf("%q is not an s3:// URI", uri)
	}
	obj, err := s.env.S3.GetObject(bucket, key, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", uri, err)
	}
	defer obj.Contents.Close()
	return bundle.Extract(obj.Contents, dst)
}

func splitS3(uri string) (bucket, key string, ok bool) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", false
	}
	bucket, key, _ = strings.Cut(rest, "/")
	return bucket, key, bucket != ""
}

// upload stores the first host's model and output data directories as
// SageMaker does: OUTPUT/JOB/output/model.tar.gz and output.tar.gz.
func (s *SageMaker) upload(j *trainingJob, home string) (string, error) {
	bucket, prefix, ok := splitS3(strings.TrimRight(j.in.OutputDataConfig.S3OutputPath, "/"))
	if !ok {
		return "", fmt.Errorf("bad S3OutputPath")
	}
	base := strings.TrimPrefix(prefix+"/", "/") + j.in.TrainingJobName + "/output/"
	for _, part := range []struct{ dir, name string }{{"model", "model.tar.gz"}, {"output/data", "output.tar.gz"}} {
		var buf bytes.Buffer
		if err := tarGz(&buf, filepath.Join(home, part.dir)); err != nil {
			return "", err
		}
		if _, err := s.env.S3.PutObject(bucket, base+part.name, map[string]string{"Content-Type": "application/x-tar"}, &buf, int64(buf.Len()), nil); err != nil {
			return "", fmt.Errorf("s3://%s/%s: %w", bucket, base+part.name, err)
		}
	}
	return "s3://" + bucket + "/" + base + "model.tar.gz", nil
}

func tarGz(w io.Writer, dir string) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, _ := tar.FileInfoHeader(info, "")
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}
