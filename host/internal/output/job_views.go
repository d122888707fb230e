package output

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
)

// The views of the job command.

// Human writes the job as key/value pairs.
func (j Job) Human(p *Printer) error {
	pairs := [][2]string{{"Job", j.Ref}, {"Name", j.Name}, {"State", string(j.State)}, {"Platform state", j.RawState},
		{"Reason", j.Reason}, {"Created", j.CreatedAt}, {"Started", j.StartedAt}, {"Ended", j.EndedAt}, {"Console", j.ConsoleURL}}
	for _, k := range slices.Sorted(maps.Keys(j.Labels)) {
		pairs = append(pairs, [2]string{"Label " + k, j.Labels[k]})
	}
	p.KV(pairs)
	return nil
}

// Jobs is job status with several jobs: an array of Job.
type Jobs []Job

// Human writes one row per job.
func (js Jobs) Human(p *Printer) error {
	var rows [][]string
	for _, j := range js {
		rows = append(rows, []string{j.Ref, j.Name, string(j.State), j.RawState, j.CreatedAt})
	}
	p.Table([]string{"JOB", "NAME", "STATE", "PLATFORM STATE", "CREATED"}, rows)
	return nil
}

// Submitted is job submit without --wait: the Job, and for people how to
// follow it.
type Submitted struct{ Job }

// Human names the job and the commands that follow it.
func (s Submitted) Human(p *Printer) error {
	ref := Escape(s.Ref)
	fmt.Fprintf(p.Out, "Submitted %s (%s)\n", ref, p.State(s.State))
	fmt.Fprintf(p.Out, "  follow:  neural-host job logs -f %s\n  result:  neural-host job result %s\n", ref, ref)
	return nil
}

// Cancelled is job cancel: the Job after the request.
type Cancelled struct{ Job }

// Human writes "REF: STATE".
func (c Cancelled) Human(p *Printer) error {
	fmt.Fprintf(p.Out, "%s: %s\n", Escape(c.Ref), p.State(c.State))
	return nil
}

// Waited is job wait and batch wait: every job in its final state. People
// saw each job as it ended (see JobEnded), so Human writes nothing more.
type Waited []Job

// Human writes nothing: JobEnded wrote each line.
func (Waited) Human(*Printer) error { return nil }

// JobEnded tells people that a waited-for job ended.
func (p *Printer) JobEnded(ref sdk.JobRef, st sdk.JobStatus) {
	if p.Format == JSON {
		return
	}
	line := fmt.Sprintf("%s: %s", Escape(ref.String()), p.State(st.State))
	if st.Reason != "" {
		line += fmt.Sprintf(" (%s)", Escape(st.Reason))
	}
	fmt.Fprintln(p.Out, line)
}

// LogEntry writes one line of a job's output: an NDJSON LogLine, or the
// line itself with a warning on Err where the platform truncated it.
func (p *Printer) LogEntry(e sdk.LogEntry) error {
	if p.Format == JSON {
		return p.Line(LogLine{Time: Time(e.Time), Source: e.Source, Line: e.Line, Cursor: e.Cursor, Truncated: e.Truncated})
	}
	_, err := fmt.Fprintln(p.Out, e.Line)
	if e.Truncated && p.Err != nil {
		fmt.Fprintln(p.Err, "warning: the platform truncated the output here")
	}
	return err
}

// Human writes the job, its run time, metrics, artifacts and last output.
func (r Result) Human(p *Printer) error {
	r.Job.Human(p)
	pairs := [][2]string{{"Duration", (time.Duration(r.DurationSeconds * float64(time.Second))).Round(time.Millisecond).String()}, {"Error", r.Error}}
	if r.BillableSeconds > 0 {
		pairs = append(pairs, [2]string{"Billable", (time.Duration(r.BillableSeconds) * time.Second).String()})
	}
	p.KV(pairs)
	if len(r.Metrics) > 0 {
		fmt.Fprintln(p.Out, "\nMetrics:")
		var rows [][]string
		for _, k := range slices.Sorted(maps.Keys(r.Metrics)) {
			rows = append(rows, []string{"  " + k, strconv.FormatFloat(r.Metrics[k], 'g', 6, 64)})
		}
		p.Table([]string{"  NAME", "VALUE"}, rows)
	}
	if len(r.Artifacts) > 0 {
		fmt.Fprintln(p.Out, "\nArtifacts:")
		for _, a := range r.Artifacts {
			fmt.Fprintln(p.Out, "  "+Escape(a))
		}
	}
	if r.OutputExcerpt != "" {
		fmt.Fprintf(p.Out, "\nOutput (last lines):\n%s\n", indent(EscapeText(r.OutputExcerpt), "  "))
	}
	return nil
}

// Human writes each request, then the price and the cost bound.
func (pl Plan) Human(p *Printer) error {
	for i, r := range pl.Requests {
		fmt.Fprintf(p.Out, "Request %d: %s", i+1, Escape(r.Operation))
		if t := strings.TrimSpace(r.Method + " " + r.Target); t != "" {
			fmt.Fprintf(p.Out, " (%s)", Escape(t))
		}
		fmt.Fprintf(p.Out, "\n%s\n\n", indent(EscapeText(r.Body), "  "))
	}
	price := "unknown"
	if pl.HourlyPrice.Known {
		price = fmt.Sprintf("$%.4f/h (estimate, %s, as of %s)", pl.HourlyPrice.USDPerHour, pl.HourlyPrice.Source, pl.HourlyPrice.AsOf)
	}
	bound := "unbounded (no max_runtime)"
	if pl.MaxCostUSD != nil {
		bound = fmt.Sprintf("$%.2f for %s", *pl.MaxCostUSD, pl.maxRuntime)
	} else if !pl.HourlyPrice.Known {
		bound = "unknown"
	}
	p.KV([][2]string{{"Platform", pl.Platform}, {"Job", pl.job}, {"Instance", pl.InstanceType}, {"Price", price}, {"Cost bound", bound}})
	for _, warn := range pl.Warnings {
		fmt.Fprintf(p.Out, "warning: %s\n", Escape(warn))
	}
	return nil
}

// Human writes one row per job, and says when some submissions await
// job reconcile.
func (l IndexedJobList) Human(p *Printer) error {
	indexedJobTable(p, l.Jobs)
	for _, pl := range slices.Sorted(maps.Keys(l.NextPageTokens)) {
		fmt.Fprintf(p.Out, "more on %s: --all --platform %s --page-token %s\n", pl, pl, Escape(l.NextPageTokens[pl]))
	}
	return nil
}

func indexedJobTable(p *Printer, jobs []IndexedJob) {
	withBatch := slices.ContainsFunc(jobs, func(j IndexedJob) bool { return j.Batch != "" })
	header := []string{"JOB", "NAME", "STATE", "PLATFORM STATE", "CREATED"}
	if withBatch {
		header = append(header, "BATCH")
	}
	var rows [][]string
	for _, j := range jobs {
		ref, state := j.Ref, string(j.State)
		if j.Submission != SubmissionSubmitted {
			ref, state = j.Platform+":-", j.Submission
		}
		row := []string{ref, j.Name, state, j.RawState, j.CreatedAt}
		if withBatch {
			row = append(row, j.Batch)
		}
		rows = append(rows, row)
	}
	p.Table(header, rows)
	if slices.ContainsFunc(jobs, func(j IndexedJob) bool { return j.Submission == SubmissionSubmitting }) {
		fmt.Fprintln(p.Out, "some submissions were interrupted: 'neural-host job reconcile' resolves them")
	}
}

// Reconciliation is job reconcile: one row per submission looked at.
type Reconciliation []Reconciled

// Human writes one row per submission.
func (rs Reconciliation) Human(p *Printer) error {
	if len(rs) == 0 {
		fmt.Fprintln(p.Out, "Nothing to reconcile: every submission in the index has an outcome.")
		return nil
	}
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, []string{r.Platform, r.Name, r.Outcome, r.Ref, r.Message})
	}
	p.Table([]string{"PLATFORM", "NAME", "OUTCOME", "JOB", "DETAIL"}, rows)
	return nil
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}
