package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// Chunk is one finished chunk's result. Plan identifies everything that
// decides the result (content hash, server, model name and version,
// options, chunk plan); Offset, Samples and AudioHash let a later run check
// that its chunk Index is the same audio before it reuses the result.
type Chunk struct {
	Plan      string
	Index     int
	Offset    int64
	Samples   int64
	AudioHash string
	Result    transcript.ChunkResult
}

// PutChunk records a finished chunk. It returns once the row is committed,
// so a chunk counts as done only when a crash can no longer lose it.
func (d *DB) PutChunk(ctx context.Context, c Chunk) error {
	res, err := json.Marshal(c.Result)
	if err != nil {
		return fmt.Errorf("encoding chunk %d: %w", c.Index, err)
	}
	_, err = d.db.ExecContext(ctx, `INSERT INTO chunks(plan, idx, offset, samples, audio_hash, result, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(plan, idx) DO UPDATE SET offset = excluded.offset, samples = excluded.samples,
			audio_hash = excluded.audio_hash, result = excluded.result, created_at = excluded.created_at`,
		c.Plan, c.Index, c.Offset, c.Samples, c.AudioHash, string(res), d.millis())
	if err != nil {
		return fmt.Errorf("saving chunk %d: %w", c.Index, err)
	}
	return nil
}

// Chunks returns the finished chunks of plan by index.
func (d *DB) Chunks(ctx context.Context, plan string) (map[int]Chunk, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT idx, offset, samples, audio_hash, result FROM chunks WHERE plan = ?", plan)
	if err != nil {
		return nil, fmt.Errorf("reading finished chunks: %w", err)
	}
	defer rows.Close()
	out := map[int]Chunk{}
	for rows.Next() {
		c := Chunk{Plan: plan}
		var res string
		if err := rows.Scan(&c.Index, &c.Offset, &c.Samples, &c.AudioHash, &res); err != nil {
			return nil, fmt.Errorf("reading finished chunks: %w", err)
		}
		// A row that no longer decodes is skipped: the chunk is sent again.
		if json.Unmarshal([]byte(res), &c.Result) == nil {
			out[c.Index] = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading finished chunks: %w", err)
	}
	return out, nil
}

// CountChunks returns how many chunks of plan are stored.
func (d *DB) CountChunks(ctx context.Context, plan string) (int, error) {
	var n int
	if err := d.db.QueryRowContext(ctx, "SELECT count(*) FROM chunks WHERE plan = ?", plan).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting finished chunks: %w", err)
	}
	return n, nil
}

// DropChunks forgets the chunks of plan (a forced re-run starts afresh).
func (d *DB) DropChunks(ctx context.Context, plan string) error {
	if _, err := d.db.ExecContext(ctx, "DELETE FROM chunks WHERE plan = ?", plan); err != nil {
		return fmt.Errorf("forgetting finished chunks: %w", err)
	}
	return nil
}

// CountAllChunks returns how many finished chunks are stored, for every
// plan: work that a transcript does not cover yet.
func (d *DB) CountAllChunks(ctx context.Context) (int, error) {
	var n int
	if err := d.db.QueryRowContext(ctx, "SELECT count(*) FROM chunks").Scan(&n); err != nil {
		return 0, fmt.Errorf("counting finished chunks: %w", err)
	}
	return n, nil
}

// PruneChunks forgets chunks stored before cutoff: work on a file that was
// never finished and has not been touched since. It returns how many went.
func (d *DB) PruneChunks(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := d.db.ExecContext(ctx, "DELETE FROM chunks WHERE created_at < ?", cutoff.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("pruning old chunks: %w", err)
	}
	return res.RowsAffected()
}
