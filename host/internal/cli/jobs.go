package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/neural-dsl/neural-host/host/internal/jobspec"
	"github.com/neural-dsl/neural-host/host/internal/jobstate"
	"github.com/neural-dsl/neural-host/host/internal/output"
	"github.com/neural-dsl/neural-host/sdk"
	"github.com/urfave/cli/v2"
)

func jobCommand() *cli.Command {
	specFlags := []cli.Flag{
		&cli.StringFlag{Name: "platform", Aliases: []string{"p"}, Usage: "platform to run on (overrides the spec's platform:)", Action: checkPlatformFlag},
		&cli.StringFlag{Name: "name", Usage: "job name"},
		&cli.StringFlag{Name: "instance-type", Usage: "platform instance type"},
		&cli.StringFlag{Name: "gpu-type", Usage: "GPU model, such as T4 or A100"},
		&cli.IntFlag{Name: "gpus", Value: -1, Usage: "number of GPUs", DefaultText: "from spec"},
		&cli.DurationFlag{Name: "max-runtime", Usage: "stop the job after this long"},
		&cli.BoolFlag{Name: "spot", Usage: "use spot or preemptible capacity"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set `NAME=VALUE` in the job's environment (repeatable)"},
		&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "attach `KEY=VALUE` to the job (repeatable)"},
		&cli.StringSliceFlag{Name: "option", Usage: "platform option `KEY=VALUE` (repeatable)"},
		&cli.StringFlag{Name: "idempotency-key", Usage: "reuse `KEY` so that a repeated submit returns the first job", EnvVars: []string{"NEURAL_IDEMPOTENCY_KEY"}},
	}
	return &cli.Command{
		Name:  "job",
		Usage: "plan, submit and follow training jobs",
		Subcommands: []*cli.Command{
			{Name: "plan", Usage: "show what submit would send, and its price, without sending it", ArgsUsage: "SPEC", Flags: specFlags, Action: jobPlan},
			{Name: "submit", Usage: "submit a job", ArgsUsage: "SPEC (a neural-job.yaml, a .py script or a .neural model)",
				Flags: append(append([]cli.Flag(nil), specFlags...),
					&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
					&cli.Float64Flag{Name: "max-cost", Usage: "refuse the job, sending nothing, if its cost bound (price × max runtime) may exceed `USD`"},
					&cli.BoolFlag{Name: "wait", Usage: "wait for the job to end; the exit code says how it ended"},
					&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "stream the job's output until it ends (implies --wait)"},
				), Action: jobSubmit},
			{Name: "status", Usage: "show jobs' states", ArgsUsage: "PLATFORM:ID...", Action: jobStatus},
			{Name: "schema", Usage: "print the JSON Schema of job spec files, for editors", Action: func(c *cli.Context) error {
				_, err := sess(c).out.Out.Write(jobspec.Schema)
				return err
			}},
			{Name: "result", Usage: "show a job's metrics, artifacts and outcome", ArgsUsage: "PLATFORM:ID", Action: jobResult},
			{Name: "logs", Usage: "print a job's output", ArgsUsage: "PLATFORM:ID", Flags: []cli.Flag{
				&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing until the job ends"},
				&cli.StringFlag{Name: "cursor", Usage: "resume after `CURSOR` (from -o json output)"},
			}, Action: jobLogs},
			{Name: "cancel", Usage: "stop a job", ArgsUsage: "PLATFORM:ID", Action: jobCancel},
			{Name: "list", Usage: "list jobs on one or more platforms", Flags: []cli.Flag{
				&cli.StringSliceFlag{Name: "platform", Aliases: []string{"p"}, Usage: "platforms to ask (default: every installed one)", Action: checkPlatformList("--platform")},
				&cli.StringSliceFlag{Name: "state", Usage: "only jobs in `STATE` (repeatable)"},
				&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "only jobs with `KEY=VALUE` (repeatable)"},
				&cli.StringFlag{Name: "name-prefix", Usage: "only jobs whose name starts with `PREFIX`"},
				&cli.DurationFlag{Name: "since", Usage: "only jobs created within `DURATION`"},
				&cli.IntFlag{Name: "limit", Value: 50, Usage: "at most `N` jobs per platform"},
				&cli.StringFlag{Name: "page-token", Usage: "continue a listing of one platform"},
			}, Action: jobList},
			{Name: "wait", Usage: "wait until jobs end; exit 0 only if all succeeded", ArgsUsage: "PLATFORM:ID...", Flags: []cli.Flag{
				&cli.DurationFlag{Name: "timeout", Usage: "give up after `DURATION` (exit 6); 0 waits forever"},
				&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "stream the output of a single job while waiting"},
				&cli.DurationFlag{Name: "poll-interval", Value: time.Second, Usage: "first interval between status checks; it grows to 30s"},
			}, Action: jobWait},
		},
	}
}

// loadSpec reads SPEC, applies flag overrides and validates everything that
// can be checked without a plugin, including that a platform is named.
func loadSpec(c *cli.Context) (*jobspec.Spec, string, error) { return loadSpecFor(c, true) }

// loadSpecFor is loadSpec; needPlatform says whether a missing platform is
// an error.
func loadSpecFor(c *cli.Context, needPlatform bool) (*jobspec.Spec, string, error) {
	if c.NArg() != 1 {
		return nil, "", usageError("give exactly one SPEC: a job spec file, a .py script or a .neural model")
	}
	spec, err := jobspec.Load(c.Context, c.Args().First())
	if err != nil {
		return nil, "", err
	}
	if v := c.String("name"); v != "" {
		spec.Name = v
	}
	if v := c.String("instance-type"); v != "" {
		spec.Resources.InstanceType = v
	}
	if v := c.String("gpu-type"); v != "" {
		spec.Resources.GPUType = v
	}
	if c.IsSet("gpus") {
		spec.Resources.GPUs = c.Int("gpus")
	}
	if c.IsSet("max-runtime") {
		spec.Resources.MaxRuntime = c.Duration("max-runtime")
	}
	if c.IsSet("spot") {
		spec.Resources.Spot = c.Bool("spot")
	}
	for _, f := range []struct {
		flag string
		dst  *map[string]string
	}{{"env", &spec.Env}, {"label", &spec.Labels}, {"option", &spec.Options}} {
		for _, kv := range c.StringSlice(f.flag) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, "", usageError(fmt.Sprintf("--%s %q: write KEY=VALUE", f.flag, kv))
			}
			if *f.dst == nil {
				*f.dst = map[string]string{}
			}
			(*f.dst)[k] = v
		}
	}
	platform := c.String("platform")
	if platform == "" {
		platform = spec.Platform
	}
	if platform == "" && needPlatform {
		return nil, "", &sdk.Error{Kind: sdk.ErrInvalidArgument, Field: "platform", Message: "no platform given",
			Hint: "pass --platform NAME or set platform: in the spec; 'neural-host platforms' lists the installed ones"}
	}
	if err := spec.Validate(); err != nil {
		var out []error
		for _, p := range sdk.Problems(err) {
			out = append(out, spec.Describe(p))
		}
		return nil, "", errors.Join(out...)
	}
	spec.IdempotencyKey = c.String("idempotency-key")
	return spec, platform, nil
}

// checkOptions rejects options the platform does not declare.
func checkOptions(platform string, meta sdk.Metadata, spec *jobspec.Spec) error {
	var errs []error
	for _, k := range output.SortedKeys(spec.Options) {
		known := false
		for _, f := range meta.JobOptions {
			known = known || f.Key == k
		}
		if !known {
			var keys []string
			for _, f := range meta.JobOptions {
				keys = append(keys, f.Key)
			}
			hint := "platform " + platform + " takes no options; remove it"
			if len(keys) > 0 {
				hint = "platform " + platform + " takes: " + strings.Join(keys, ", ")
			}
			errs = append(errs, spec.Describe(sdk.FieldError("options."+k, "is not an option of platform "+platform, hint)))
		}
	}
	return errors.Join(errs...)
}

func newIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func plan(c *cli.Context) (*session, sdk.Platform, *jobspec.Spec, string, sdk.Plan, error) {
	s := sess(c)
	if c.IsSet("max-cost") {
		if err := checkMaxCost(c.Float64("max-cost")); err != nil {
			return s, nil, nil, "", sdk.Plan{}, err
		}
	}
	spec, platform, err := loadSpec(c)
	if err != nil {
		return s, nil, nil, "", sdk.Plan{}, err
	}
	conn, err := s.mgr.Get(c.Context, platform)
	if err != nil {
		return s, nil, nil, "", sdk.Plan{}, err
	}
	if err := checkOptions(platform, conn.Metadata(), spec); err != nil {
		return s, nil, nil, "", sdk.Plan{}, err
	}
	if spec.IdempotencyKey == "" {
		spec.IdempotencyKey = newIdempotencyKey()
	}
	p, err := conn.Plan(c.Context, spec.JobSpec)
	if err != nil {
		return s, nil, nil, "", sdk.Plan{}, spec.Describe(err)
	}
	if err := applyOverride(platform, &p); err != nil {
		return s, nil, nil, "", sdk.Plan{}, err
	}
	if c.IsSet("max-cost") {
		if err := checkBudget(spec.JobSpec, p, c.Float64("max-cost")); err != nil {
			return s, nil, nil, "", sdk.Plan{}, err
		}
	}
	return s, conn, spec, platform, p, nil
}

// checkMaxCost refuses a --max-cost no cost can be compared with: NaN
// compares false with everything, so "bound > NaN" would let any job
// through.
func checkMaxCost(maxCost float64) error {
	if math.IsNaN(maxCost) || math.IsInf(maxCost, 0) || maxCost < 0 {
		return sdk.FieldError("max-cost", fmt.Sprintf("must be a number of US dollars, 0 or more, got %v", maxCost), "pass --max-cost a budget such as 20")
	}
	return nil
}

func printPlan(s *session, platform string, spec *jobspec.Spec, p sdk.Plan) {
	shape := output.PlanOf(platform, p, spec.Resources.MaxRuntime.Hours())
	w := s.out.Out
	for i, r := range shape.Requests {
		fmt.Fprintf(w, "Request %d: %s", i+1, r.Operation)
		if t := strings.TrimSpace(r.Method + " " + r.Target); t != "" {
			fmt.Fprintf(w, " (%s)", t)
		}
		fmt.Fprintf(w, "\n%s\n\n", indent(r.Body, "  "))
	}
	price := "unknown"
	if shape.HourlyPrice.Known {
		price = fmt.Sprintf("$%.4f/h (estimate, %s, as of %s)", shape.HourlyPrice.USDPerHour, shape.HourlyPrice.Source, shape.HourlyPrice.AsOf)
	}
	bound := "unbounded (no max_runtime)"
	if shape.MaxCostUSD != nil {
		bound = fmt.Sprintf("$%.2f for %s", *shape.MaxCostUSD, spec.Resources.MaxRuntime)
	} else if !shape.HourlyPrice.Known {
		bound = "unknown"
	}
	s.out.KV([][2]string{{"Platform", platform}, {"Job", spec.Name}, {"Instance", shape.InstanceType}, {"Price", price}, {"Cost bound", bound}})
	for _, warn := range shape.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}

func jobPlan(c *cli.Context) error {
	s, _, spec, platform, p, err := plan(c)
	if err != nil {
		return err
	}
	if s.out.Format == output.JSON {
		return s.out.JSON(output.PlanOf(platform, p, spec.Resources.MaxRuntime.Hours()))
	}
	printPlan(s, platform, spec, p)
	return nil
}

func jobSubmit(c *cli.Context) error {
	s, conn, spec, platform, p, err := plan(c)
	if err != nil {
		return err
	}
	if s.interactive && !c.Bool("yes") && s.out.Format == output.Table {
		printPlan(s, platform, spec, p)
		fmt.Fprint(s.errw, "Submit this job? [y/N] ")
		answer, _ := bufio.NewReader(s.in).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return usageError("not submitted")
		}
	}
	// Recorded in the job index before and after the platform call.
	st, err := submitRecorded(c.Context, s, conn, platform, spec.JobSpec, "")
	if err != nil {
		return err
	}
	ref := sdk.JobRef{Platform: platform, ID: st.ID}
	follow := c.Bool("follow")
	if !c.Bool("wait") && !follow {
		if s.out.Format == output.JSON {
			return s.out.JSON(output.JobOf(platform, st))
		}
		fmt.Fprintf(s.out.Out, "Submitted %s (%s)\n", ref, st.State)
		fmt.Fprintf(s.out.Out, "  follow:  neural-host job logs -f %s\n  result:  neural-host job result %s\n", ref, ref)
		return nil
	}
	if s.out.Format == output.Table {
		fmt.Fprintf(s.errw, "Submitted %s\n", ref)
	}
	return waitFor(c.Context, s, stateJobsOf([]sdk.JobRef{ref}), 0, time.Second, follow)
}

// submitWithRetry retries transient failures with the same idempotency key,
// so the platform returns the first job instead of starting a second.
func submitWithRetry(ctx context.Context, s *session, p sdk.Platform, spec sdk.JobSpec) (sdk.JobStatus, error) {
	delay := time.Second
	for attempt := 1; ; attempt++ {
		st, err := p.Submit(ctx, spec)
		if err == nil || attempt == 3 || !(errors.Is(err, sdk.ErrUnavailable) || errors.Is(err, sdk.ErrRateLimited)) || s.mgr.Explain(err) != err {
			return st, err
		}
		s.log.Warn("submit failed; retrying with the same idempotency key", "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func refs(c *cli.Context, min int) ([]sdk.JobRef, error) {
	if c.NArg() < min {
		return nil, usageError("give a job as PLATFORM:ID, for example local:3f9c2a")
	}
	var out []sdk.JobRef
	for _, a := range c.Args().Slice() {
		r, err := sdk.ParseJobRef(a)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func oneRef(c *cli.Context) (*session, sdk.Platform, sdk.JobRef, error) {
	s := sess(c)
	rs, err := refs(c, 1)
	if err != nil {
		return s, nil, sdk.JobRef{}, err
	}
	if len(rs) != 1 {
		return s, nil, sdk.JobRef{}, usageError("give exactly one job")
	}
	conn, err := s.mgr.Get(c.Context, rs[0].Platform)
	return s, conn, rs[0], err
}

func jobStatus(c *cli.Context) error {
	s := sess(c)
	rs, err := refs(c, 1)
	if err != nil {
		return err
	}
	var jobs []output.Job
	for _, r := range rs {
		conn, err := s.mgr.Get(c.Context, r.Platform)
		if err != nil {
			return err
		}
		st, err := conn.Status(c.Context, r.ID)
		if err != nil {
			return err
		}
		jobs = append(jobs, output.JobOf(r.Platform, st))
	}
	if s.out.Format == output.JSON {
		if len(jobs) == 1 {
			return s.out.JSON(jobs[0])
		}
		return s.out.JSON(jobs)
	}
	if len(jobs) == 1 {
		printJob(s, jobs[0])
		return nil
	}
	printJobTable(s, jobs)
	return nil
}

func printJob(s *session, j output.Job) {
	pairs := [][2]string{{"Job", j.Ref}, {"Name", j.Name}, {"State", string(j.State)}, {"Platform state", j.RawState},
		{"Reason", j.Reason}, {"Created", j.CreatedAt}, {"Started", j.StartedAt}, {"Ended", j.EndedAt}, {"Console", j.ConsoleURL}}
	for _, k := range output.SortedKeys(j.Labels) {
		pairs = append(pairs, [2]string{"Label " + k, j.Labels[k]})
	}
	s.out.KV(pairs)
}

func printJobTable(s *session, jobs []output.Job) {
	var rows [][]string
	for _, j := range jobs {
		rows = append(rows, []string{j.Ref, j.Name, string(j.State), j.RawState, j.CreatedAt})
	}
	s.out.Table([]string{"JOB", "NAME", "STATE", "PLATFORM STATE", "CREATED"}, rows)
}

func jobResult(c *cli.Context) error {
	s, conn, ref, err := oneRef(c)
	if err != nil {
		return err
	}
	r, err := conn.Result(c.Context, ref.ID)
	if err != nil {
		return err
	}
	shape := output.ResultOf(ref.Platform, r)
	if s.out.Format == output.JSON {
		return s.out.JSON(shape)
	}
	printJob(s, shape.Job)
	pairs := [][2]string{{"Duration", r.Duration.Round(time.Millisecond).String()}, {"Error", r.Error}}
	if r.BillableSeconds > 0 {
		pairs = append(pairs, [2]string{"Billable", (time.Duration(r.BillableSeconds) * time.Second).String()})
	}
	s.out.KV(pairs)
	if len(r.Metrics) > 0 {
		fmt.Fprintln(s.out.Out, "\nMetrics:")
		var rows [][]string
		for _, k := range output.SortedKeys(r.Metrics) {
			rows = append(rows, []string{"  " + k, strconv.FormatFloat(r.Metrics[k], 'g', 6, 64)})
		}
		s.out.Table([]string{"  NAME", "VALUE"}, rows)
	}
	if len(r.Artifacts) > 0 {
		fmt.Fprintln(s.out.Out, "\nArtifacts:")
		for _, a := range r.Artifacts {
			fmt.Fprintln(s.out.Out, "  "+output.Escape(a))
		}
	}
	if r.OutputExcerpt != "" {
		fmt.Fprintf(s.out.Out, "\nOutput (last lines):\n%s\n", indent(output.EscapeText(r.OutputExcerpt), "  "))
	}
	return nil
}

func jobLogs(c *cli.Context) error {
	s, conn, ref, err := oneRef(c)
	if err != nil {
		return err
	}
	return streamLogs(c.Context, s, conn, ref, c.String("cursor"), c.Bool("follow"))
}

func streamLogs(ctx context.Context, s *session, conn sdk.Platform, ref sdk.JobRef, cursor string, follow bool) error {
	return conn.Logs(ctx, sdk.LogsRequest{ID: ref.ID, Cursor: cursor, Follow: follow}, func(e sdk.LogEntry) error {
		if s.out.Format == output.JSON {
			return s.out.Line(output.LogLine{Time: output.Time(e.Time), Source: e.Source, Line: e.Line, Cursor: e.Cursor, Truncated: e.Truncated})
		}
		_, err := fmt.Fprintln(s.out.Out, e.Line)
		if e.Truncated {
			fmt.Fprintln(s.errw, "warning: the platform truncated the output here")
		}
		return err
	})
}

func jobCancel(c *cli.Context) error {
	s, conn, ref, err := oneRef(c)
	if err != nil {
		return err
	}
	st, err := conn.Cancel(c.Context, ref.ID)
	if err != nil {
		return err
	}
	if s.out.Format == output.JSON {
		return s.out.JSON(output.JobOf(ref.Platform, st))
	}
	fmt.Fprintf(s.out.Out, "%s: %s\n", output.Escape(ref.String()), s.out.State(st.State))
	return nil
}

// jobList lists the jobs in the local index with fresh states; see
// listIndexed.
func jobList(c *cli.Context) error { return listIndexed(c) }

func validState(st sdk.State) bool {
	for _, s := range sdk.States {
		if s == st {
			return true
		}
	}
	return false
}

func jobWait(c *cli.Context) error {
	s := sess(c)
	rs, err := refs(c, 1)
	if err != nil {
		return err
	}
	if c.Bool("follow") && len(rs) != 1 {
		return usageError("--follow streams one job's output: give exactly one job")
	}
	if c.Duration("poll-interval") <= 0 {
		return usageError("--poll-interval must be positive")
	}
	return waitFor(c.Context, s, stateJobsOf(rs), c.Duration("timeout"), c.Duration("poll-interval"), c.Bool("follow"))
}

// waitFor polls until every job is terminal, with exponential backoff and
// jitter, and turns the outcome into the documented exit code.
func waitFor(ctx context.Context, s *session, jobs []jobstate.Job, timeout, interval time.Duration, follow bool) error {
	rs := make([]sdk.JobRef, len(jobs))
	for i, j := range jobs {
		rs[i] = j.Ref()
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	final := map[sdk.JobRef]sdk.JobStatus{}
	timedOut := func() error {
		var left []string
		for _, r := range rs {
			if _, ok := final[r]; !ok {
				left = append(left, r.String())
			}
		}
		return &timeoutError{refs: left}
	}
	if follow {
		conn, err := s.mgr.Get(ctx, rs[0].Platform)
		if err == nil {
			err = streamLogs(ctx, s, conn, rs[0], "", true)
		}
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return timedOut()
			}
			return err
		}
	}
	const maxInterval = 30 * time.Second
	for {
		var pending []jobstate.Job
		for _, j := range jobs {
			if _, done := final[j.Ref()]; !done {
				pending = append(pending, j)
			}
		}
		res := refreshStates(ctx, s, pending)
		for _, p := range output.SortedKeys(res.Failed) {
			switch err := res.Failed[p]; {
			// The wait's own deadline, whether it passed while the plugin
			// started or during a call, is a timeout (exit 6).
			case errors.Is(err, context.DeadlineExceeded), errors.Is(ctx.Err(), context.DeadlineExceeded):
				return timedOut()
			case errors.Is(err, sdk.ErrRateLimited):
				interval = min(interval*2, maxInterval)
			default:
				return err
			}
		}
		for _, j := range pending {
			r := j.Ref()
			if err, gone := res.NotFound[r]; gone {
				return err
			}
			if st, ok := res.Statuses[r]; ok && st.Terminal {
				final[r] = st
				if s.out.Format == output.Table {
					fmt.Fprintf(s.out.Out, "%s: %s", output.Escape(r.String()), s.out.State(st.State))
					if st.Reason != "" {
						fmt.Fprintf(s.out.Out, " (%s)", output.Escape(st.Reason))
					}
					fmt.Fprintln(s.out.Out)
				}
			}
		}
		if len(final) == len(rs) {
			break
		}
		jitter := time.Duration(mrand.Float64() * 0.2 * float64(interval))
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return timedOut()
			}
			return ctx.Err()
		case <-time.After(interval + jitter):
		}
		interval = time.Duration(math.Min(float64(interval)*1.5, float64(maxInterval)))
	}
	if s.out.Format == output.JSON {
		var jobs []output.Job
		for _, r := range rs {
			jobs = append(jobs, output.JobOf(r.Platform, final[r]))
		}
		if err := s.out.JSON(jobs); err != nil {
			return err
		}
	}
	var worst *jobEndError
	for _, r := range rs {
		st := final[r]
		switch {
		case st.State == sdk.StateFailed || st.State == sdk.StateUnknown:
			return &jobEndError{ref: r.String(), state: sdk.StateFailed, why: st.Reason}
		case st.State == sdk.StateCancelled && worst == nil:
			worst = &jobEndError{ref: r.String(), state: sdk.StateCancelled, why: st.Reason}
		}
	}
	if worst != nil {
		return worst
	}
	return nil
}
