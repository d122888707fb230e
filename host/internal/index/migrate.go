package index

import (
	"context"
	"fmt"
)

// migrations are the schema's versions, in order: migrations[i] takes the
// database from version i to i+1. Released entries are never edited; a
// change is a new entry.
var migrations = []string{
	// 1: one row per submission, keyed by platform and idempotency key.
	`CREATE TABLE jobs (
  platform       TEXT NOT NULL,
  key            TEXT NOT NULL,
  job_id         TEXT NOT NULL DEFAULT '',
  name           TEXT NOT NULL DEFAULT '',
  batch          TEXT NOT NULL DEFAULT '',
  submission     TEXT NOT NULL,
  state          TEXT NOT NULL DEFAULT '',
  raw_state      TEXT NOT NULL DEFAULT '',
  reason         TEXT NOT NULL DEFAULT '',
  terminal       INTEGER NOT NULL DEFAULT 0,
  labels         TEXT NOT NULL DEFAULT '{}',
  spec           TEXT NOT NULL DEFAULT '',
  error          TEXT NOT NULL DEFAULT '',
  owner_pid      INTEGER NOT NULL DEFAULT 0,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  job_created_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (platform, key)
);
CREATE INDEX jobs_created ON jobs (created_at);
CREATE INDEX jobs_batch ON jobs (batch) WHERE batch != '';
CREATE INDEX jobs_job ON jobs (platform, job_id);
CREATE INDEX jobs_open ON jobs (submission) WHERE submission != 'submitted';`,
}

// SchemaVersion is the schema version this build writes.
var SchemaVersion = len(migrations)

// migrate applies the missing migrations in one immediate transaction, so
// that processes opening a new index at once apply each exactly once.
func (d *DB) migrate(ctx context.Context) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index: %s: %w", d.path, err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("index: %s: %w", d.path, err)
	}
	if v > len(migrations) {
		return fmt.Errorf("index: %s has schema version %d, newer than this neural-host's %d; use a newer neural-host", d.path, v, len(migrations))
	}
	if v == len(migrations) {
		return nil
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("index: migrating %s to version %d: %w", d.path, i+1, err)
		}
	}
	// PRAGMA takes no bound parameters; the value is an int we made.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("index: %s: %w", d.path, err)
	}
	return tx.Commit()
}
