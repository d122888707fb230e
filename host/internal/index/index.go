// Package index is this machine's record of the jobs it submitted: an
// embedded SQLite database (pure Go, no cgo) under $XDG_STATE_HOME/neural.
//
// A submission is written before the platform is called, in state
// Submitting with its idempotency key, and updated after. A crash or Ctrl-C
// between the two leaves a row that 'neural-host job reconcile' resolves.
// Several neural-host processes may use one index at once: it runs in WAL
// mode with a busy timeout, and every write is part of an immediate
// transaction. Writes from one process are group-committed: each waits for
// the transaction that carries it, and a transaction carries every write
// queued while the one before it committed, so many concurrent submissions
// cost a few commits, not one each. Commits are not fsync'ed one by one
// (synchronous=NORMAL): a killed process loses nothing it was told is
// written, a power cut may lose the last moments.
//
// The index does not talk to platforms and decides nothing about what to
// submit; its callers do. It never stores secret setting values: callers
// redact error messages before recording them.
package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/neural-dsl/neural-host/sdk"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// FileName is the index's file under the state directory.
const FileName = "jobs.db"

// Submission is where a row is in its submission, independent of the job's
// own state on the platform.
type Submission string

const (
	// Submitting rows were written before the platform call; whether the
	// platform started the job is not known yet.
	Submitting Submission = "submitting"
	// Submitted rows have a job on the platform.
	Submitted Submission = "submitted"
	// Rejected rows were refused by the platform: no job exists.
	Rejected Submission = "rejected"
	// Missing rows were looked up by reconcile and not found on the
	// platform: resubmitting them with the same key is safe.
	Missing Submission = "missing"
)

// Record is one submission.
type Record struct {
	// Platform and Key identify the row: the idempotency key is unique per
	// platform.
	Platform string
	Key      string
	// JobID is the platform's id of the job; empty until Submitted.
	JobID string
	Name  string
	// Batch is the batch the job belongs to; empty for a single submit.
	Batch      string
	Submission Submission
	// State, RawState, Reason and Terminal are the last status seen; State
	// is empty before the platform answered.
	State    sdk.State
	RawState string
	Reason   string
	Terminal bool
	// Labels are the job's labels as submitted; never nil when read.
	Labels map[string]string
	// Spec is what was (or is being) submitted, for resubmission.
	Spec sdk.JobSpec
	// Error is the last submission failure, redacted by the caller; empty
	// when there was none.
	Error string
	// OwnerPID is the process that wrote the row's current submission
	// attempt; zero once the attempt is over.
	OwnerPID int
	// CreatedAt is when the first submission attempt began; JobCreatedAt is
	// when the platform says the job was created (zero when unknown).
	CreatedAt    time.Time
	UpdatedAt    time.Time
	JobCreatedAt time.Time
}

// Ref is the job's PLATFORM:ID, or "" before it has an id.
func (r Record) Ref() string {
	if r.JobID == "" {
		return ""
	}
	return sdk.JobRef{Platform: r.Platform, ID: r.JobID}.String()
}

// Status is the record's last known status, as a platform would report it.
func (r Record) Status() sdk.JobStatus {
	return sdk.JobStatus{ID: r.JobID, Name: r.Name, State: r.State, RawState: r.RawState, Reason: r.Reason,
		Terminal: r.Terminal, CreatedAt: r.JobCreatedAt, Labels: r.Labels}
}

// DB is an open index. It is safe for concurrent use.
type DB struct {
	db   *sql.DB
	path string
	now  func() time.Time

	writes chan *write
	done   chan struct{}
	// prepared holds a statement per write query; set up by Open.
	prepared map[string]*sql.Stmt
}

// write is statements waiting for their group commit, which carries them
// all or none.
type write struct {
	stmts []stmt
	err   chan error
}

type stmt struct {
	query string
	args  []any
}

// Open opens the index at path, creating it (mode 0600, in a 0700
// directory) and bringing its schema up to date.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	// SQLite gives its -wal and -shm files the database file's mode, so
	// creating the file first keeps all three private from the start.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("index: %w", err)
	}
	dsn := path + "?_busy_timeout=15000&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	// The commit goroutine holds one connection; readers take the others
	// and, in WAL mode, never wait for it.
	db.SetMaxOpenConns(4)
	d := &DB{db: db, path: path, now: time.Now, writes: make(chan *write), done: make(chan struct{}), prepared: map[string]*sql.Stmt{}}
	if err := d.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	for _, q := range []string{beginQuery, submittedQuery, failedQuery, updateQuery} {
		p, err := db.PrepareContext(ctx, q)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("index: %w", err)
		}
		d.prepared[q] = p
	}
	go d.commit()
	return d, nil
}

// maxGroup bounds how many writes one transaction carries.
const maxGroup = 256

// commit runs the group commits until Close.
func (d *DB) commit() {
	defer close(d.done)
	for first := range d.writes {
		group := []*write{first}
	more:
		for len(group) < maxGroup {
			select {
			case w, ok := <-d.writes:
				if !ok {
					break more
				}
				group = append(group, w)
			default:
				break more
			}
		}
		errs := make([]error, len(group))
		// Not the callers' contexts: one caller giving up must not undo
		// the others' writes. The busy timeout bounds the wait.
		ctx := context.Background()
		tx, err := d.db.BeginTx(ctx, nil)
		if err == nil {
			for i, w := range group {
				if len(w.stmts) > 1 {
					_, errs[i] = tx.ExecContext(ctx, "SAVEPOINT w")
				}
				for _, st := range w.stmts {
					if errs[i] == nil {
						errs[i] = d.run(ctx, tx, st)
					}
				}
				// A failed write undoes only itself; the rest of the group
				// still commits.
				switch {
				case len(w.stmts) > 1 && errs[i] != nil:
					tx.ExecContext(ctx, "ROLLBACK TO w")
					tx.ExecContext(ctx, "RELEASE w")
				case len(w.stmts) > 1:
					errs[i] = func() error { _, err := tx.ExecContext(ctx, "RELEASE w"); return err }()
				}
			}
			err = tx.Commit()
		}
		for i, w := range group {
			if errs[i] == nil {
				errs[i] = err
			}
			w.err <- wrap(errs[i])
		}
	}
}

// run executes st in tx through the statement prepared for its query, so
// SQLite parses each query once, not once per write.
func (d *DB) run(ctx context.Context, tx *sql.Tx, st stmt) error {
	_, err := tx.StmtContext(ctx, d.prepared[st.query]).ExecContext(ctx, st.args...)
	return err
}

// exec queues one statement and returns once it is committed.
func (d *DB) exec(ctx context.Context, query string, args ...any) error {
	return d.execAll(ctx, []stmt{{query, args}})
}

// execAll queues statements to commit together and returns once they are.
// A ctx that ends before they are queued cancels them; once queued, they
// are waited for.
func (d *DB) execAll(ctx context.Context, stmts []stmt) error {
	if err := ctx.Err(); err != nil {
		return wrap(err)
	}
	w := &write{stmts: stmts, err: make(chan error, 1)}
	select {
	case d.writes <- w:
	case <-ctx.Done():
		return wrap(ctx.Err())
	}
	return <-w.err
}

// Path is the database file.
func (d *DB) Path() string { return d.path }

// Close waits for queued writes and closes the database. No write may be
// started during or after Close.
func (d *DB) Close() error {
	close(d.writes)
	<-d.done
	for _, p := range d.prepared {
		p.Close()
	}
	return d.db.Close()
}

// Begin records that a submission of r is about to be sent: a new row in
// Submitting, or an existing row of the same platform and key moved back to
// Submitting unless it was already Submitted.
func (d *DB) Begin(ctx context.Context, r Record) error { return d.BeginAll(ctx, []Record{r}) }

// BeginAll is Begin for many submissions, in one transaction: a batch
// records all its jobs before sending the first.
func (d *DB) BeginAll(ctx context.Context, rs []Record) error {
	now := d.now().UnixNano()
	stmts := make([]stmt, 0, len(rs))
	for _, r := range rs {
		labels, err := json.Marshal(nonNil(r.Labels))
		if err != nil {
			return fmt.Errorf("index: %w", err)
		}
		spec, err := json.Marshal(r.Spec)
		if err != nil {
			return fmt.Errorf("index: %w", err)
		}
		stmts = append(stmts, stmt{beginQuery, []any{r.Platform, r.Key, r.Name, r.Batch, string(labels), string(spec), os.Getpid(), now, now}})
	}
	return d.execAll(ctx, stmts)
}

// The queries writes use, prepared once when the index opens.
const (
	submittedQuery = `
UPDATE jobs SET submission = 'submitted', job_id = ?, state = ?, raw_state = ?, reason = ?, terminal = ?,
  job_created_at = ?, error = '', owner_pid = 0, updated_at = ?
WHERE platform = ? AND key = ?`
	failedQuery = `
UPDATE jobs SET submission = CASE WHEN submission = 'submitted' THEN 'submitted' ELSE ? END,
  error = ?, owner_pid = 0, updated_at = ?
WHERE platform = ? AND key = ?`
	updateQuery = `
UPDATE jobs SET state = ?, raw_state = ?, reason = ?, terminal = ?,
  job_created_at = CASE WHEN ? != 0 THEN ? ELSE job_created_at END, updated_at = ?
WHERE platform = ? AND job_id = ? AND submission = 'submitted'`
)

const beginQuery = `
INSERT INTO jobs (platform, key, name, batch, submission, labels, spec, owner_pid, created_at, updated_at)
VALUES (?, ?, ?, ?, 'submitting', ?, ?, ?, ?, ?)
ON CONFLICT (platform, key) DO UPDATE SET
  submission = CASE WHEN submission = 'submitted' THEN 'submitted' ELSE 'submitting' END,
  name = excluded.name, batch = excluded.batch, labels = excluded.labels, spec = excluded.spec,
  owner_pid = excluded.owner_pid, updated_at = excluded.updated_at`

// Submitted records the platform's answer to a submission.
func (d *DB) Submitted(ctx context.Context, platform, key string, st sdk.JobStatus) error {
	return d.exec(ctx, submittedQuery,
		st.ID, string(st.State), st.RawState, st.Reason, st.Terminal, unixNano(st.CreatedAt), d.now().UnixNano(), platform, key)
}

// Failed records a submission attempt that ended without a job id. With
// to == Submitting the outcome is unknown and the row awaits reconcile;
// Rejected and Missing say no job exists. A Submitted row stays Submitted.
func (d *DB) Failed(ctx context.Context, platform, key string, to Submission, msg string) error {
	return d.exec(ctx, failedQuery, string(to), msg, d.now().UnixNano(), platform, key)
}

// Update stores a fresh status of a submitted job.
func (d *DB) Update(ctx context.Context, platform string, st sdk.JobStatus) error {
	return d.UpdateAll(ctx, platform, []sdk.JobStatus{st})
}

// UpdateAll is Update for many jobs of one platform, in one transaction: a
// refresh of a thousand jobs is one commit, not a thousand.
func (d *DB) UpdateAll(ctx context.Context, platform string, sts []sdk.JobStatus) error {
	now := d.now().UnixNano()
	stmts := make([]stmt, len(sts))
	for i, st := range sts {
		stmts[i] = stmt{updateQuery, []any{string(st.State), st.RawState, st.Reason, st.Terminal, unixNano(st.CreatedAt), unixNano(st.CreatedAt),
			now, platform, st.ID}}
	}
	return d.execAll(ctx, stmts)
}

// Get returns the row of platform and key.
func (d *DB) Get(ctx context.Context, platform, key string) (Record, bool, error) {
	rs, err := d.query(ctx, true, "WHERE platform = ? AND key = ?", platform, key)
	if err != nil || len(rs) == 0 {
		return Record{}, false, err
	}
	return rs[0], true, nil
}

// Filter selects rows; zero fields do not filter.
type Filter struct {
	Platforms   []string
	Submissions []Submission
	// Batch selects one batch's rows.
	Batch string
	// Labels must all be present with these values.
	Labels     map[string]string
	NamePrefix string
	// CreatedAfter and CreatedBefore bound when the submission began.
	CreatedAfter  time.Time
	CreatedBefore time.Time
	// WithSpec also reads each row's Spec, which only a resubmission
	// needs; without it Spec is left zero. Decoding a thousand stored
	// specs costs a listing more than reading the rows.
	WithSpec bool
}

// List returns the rows that pass f, newest first.
func (d *DB) List(ctx context.Context, f Filter) ([]Record, error) {
	var where []string
	var args []any
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("platform", f.Platforms)
	var subs []string
	for _, s := range f.Submissions {
		subs = append(subs, string(s))
	}
	in("submission", subs)
	if f.Batch != "" {
		where, args = append(where, "batch = ?"), append(args, f.Batch)
	}
	if f.NamePrefix != "" {
		where, args = append(where, "instr(name, ?) = 1"), append(args, f.NamePrefix)
	}
	if !f.CreatedAfter.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, f.CreatedAfter.UnixNano())
	}
	if !f.CreatedBefore.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, f.CreatedBefore.UnixNano())
	}
	clause := ""
	if len(where) > 0 {
		clause = "WHERE " + strings.Join(where, " AND ")
	}
	rs, err := d.query(ctx, f.WithSpec, clause+" ORDER BY created_at DESC, rowid DESC", args...)
	if err != nil || len(f.Labels) == 0 {
		return rs, err
	}
	// Labels are a JSON column; matching them here keeps keys of any
	// spelling exact, which JSON paths in SQL would not.
	out := rs[:0]
	for _, r := range rs {
		ok := true
		for k, v := range f.Labels {
			if got, has := r.Labels[k]; !has || got != v {
				ok = false
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// BatchSummary counts one batch's rows.
type BatchSummary struct {
	ID        string
	Jobs      int
	CreatedAt time.Time
}

// Batches lists the batches in the index, newest first.
func (d *DB) Batches(ctx context.Context) ([]BatchSummary, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT batch, count(*), min(created_at) FROM jobs WHERE batch != '' GROUP BY batch ORDER BY min(created_at) DESC`)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []BatchSummary
	for rows.Next() {
		var b BatchSummary
		var created int64
		if err := rows.Scan(&b.ID, &b.Jobs, &created); err != nil {
			return nil, wrap(err)
		}
		b.CreatedAt = fromNano(created)
		out = append(out, b)
	}
	return out, wrap(rows.Err())
}

const columns = `platform, key, job_id, name, batch, submission, state, raw_state, reason, terminal, labels, error,
  owner_pid, created_at, updated_at, job_created_at`

// query reads the rows that clause selects, with their specs if withSpec.
func (d *DB) query(ctx context.Context, withSpec bool, clause string, args ...any) ([]Record, error) {
	specColumn := "''"
	if withSpec {
		specColumn = "spec"
	}
	rows, err := d.db.QueryContext(ctx, "SELECT "+columns+", "+specColumn+" FROM jobs "+clause, args...)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var sub, state, labels, spec string
		var created, updated, jobCreated int64
		if err := rows.Scan(&r.Platform, &r.Key, &r.JobID, &r.Name, &r.Batch, &sub, &state, &r.RawState, &r.Reason,
			&r.Terminal, &labels, &r.Error, &r.OwnerPID, &created, &updated, &jobCreated, &spec); err != nil {
			return nil, wrap(err)
		}
		r.Submission, r.State = Submission(sub), sdk.State(state)
		r.CreatedAt, r.UpdatedAt, r.JobCreatedAt = fromNano(created), fromNano(updated), fromNano(jobCreated)
		if err := json.Unmarshal([]byte(labels), &r.Labels); err != nil {
			return nil, fmt.Errorf("index: row %s/%s: labels: %w", r.Platform, r.Key, err)
		}
		r.Labels = nonNil(r.Labels)
		if spec != "" {
			if err := json.Unmarshal([]byte(spec), &r.Spec); err != nil {
				return nil, fmt.Errorf("index: row %s/%s: spec: %w", r.Platform, r.Key, err)
			}
		}
		out = append(out, r)
	}
	return out, wrap(rows.Err())
}

func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("index: %w", err)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
