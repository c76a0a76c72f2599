package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Job is one file's run through the queue as recorded: what was asked
// (Settings, the request as JSON), where it got to, and what came out.
type Job struct {
	ID           int64           `json:"id"`
	Source       string          `json:"source"`
	Settings     json.RawMessage `json:"settings"`
	State        string          `json:"state"`
	Error        string          `json:"error,omitempty"`
	Plan         string          `json:"-"`
	TranscriptID int64           `json:"transcriptId,omitempty"`
	Outputs      []string        `json:"outputs"`
	CreatedAt    time.Time       `json:"createdAt"`
	UpdatedAt    time.Time       `json:"updatedAt"`
}

// CreateJob records a new job in state and returns its id.
func (d *DB) CreateJob(ctx context.Context, source string, settings any, state string) (int64, error) {
	data, err := json.Marshal(settings)
	if err != nil {
		return 0, fmt.Errorf("encoding the job's settings: %w", err)
	}
	now := d.millis()
	res, err := d.db.ExecContext(ctx, "INSERT INTO jobs(source, settings, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
		source, string(data), state, now, now)
	if err != nil {
		return 0, fmt.Errorf("recording the job: %w", err)
	}
	return res.LastInsertId()
}

// JobUpdate is what changed about a job; zero fields are left alone
// except State, which is always written.
type JobUpdate struct {
	State        string
	Error        *string // nil: unchanged; "" clears
	Plan         string
	TranscriptID int64
	Outputs      []string
}

// UpdateJob records a job's progress.
func (d *DB) UpdateJob(ctx context.Context, id int64, u JobUpdate) error {
	sets := []string{"state = ?", "updated_at = ?"}
	args := []any{u.State, d.millis()}
	if u.Error != nil {
		sets, args = append(sets, "error = ?"), append(args, *u.Error)
	}
	if u.Plan != "" {
		sets, args = append(sets, "plan = ?"), append(args, u.Plan)
	}
	if u.TranscriptID != 0 {
		sets, args = append(sets, "transcript_id = ?"), append(args, u.TranscriptID)
	}
	if u.Outputs != nil {
		data, _ := json.Marshal(u.Outputs)
		sets, args = append(sets, "outputs = ?"), append(args, string(data))
	}
	args = append(args, id)
	if _, err := d.db.ExecContext(ctx, "UPDATE jobs SET "+strings.Join(sets, ", ")+" WHERE id = ?", args...); err != nil {
		return fmt.Errorf("recording job %d: %w", id, err)
	}
	return nil
}

// Jobs lists recorded jobs, oldest first; with states, only those in one
// of them.
func (d *DB) Jobs(ctx context.Context, states ...string) ([]Job, error) {
	query := "SELECT id, source, settings, state, error, plan, coalesce(transcript_id, 0), outputs, created_at, updated_at FROM jobs"
	var args []any
	if len(states) > 0 {
		query += " WHERE state IN (?" + strings.Repeat(", ?", len(states)-1) + ")"
		for _, s := range states {
			args = append(args, s)
		}
	}
	rows, err := d.db.QueryContext(ctx, query+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("reading jobs: %w", err)
	}
	defer rows.Close()
	out := []Job{}
	for rows.Next() {
		var j Job
		var settings, outputs string
		var created, updated int64
		if err := rows.Scan(&j.ID, &j.Source, &settings, &j.State, &j.Error, &j.Plan, &j.TranscriptID, &outputs, &created, &updated); err != nil {
			return nil, fmt.Errorf("reading jobs: %w", err)
		}
		j.Settings = json.RawMessage(settings)
		if json.Unmarshal([]byte(outputs), &j.Outputs) != nil || j.Outputs == nil {
			j.Outputs = []string{}
		}
		j.CreatedAt, j.UpdatedAt = fromMillis(created), fromMillis(updated)
		out = append(out, j)
	}
	return out, rows.Err()
}

// DeleteJob forgets a job record (its transcript stays in the history).
func (d *DB) DeleteJob(ctx context.Context, id int64) error {
	res, err := d.db.ExecContext(ctx, "DELETE FROM jobs WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("deleting job %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("job %d: %w", id, ErrNotFound)
	}
	return nil
}
