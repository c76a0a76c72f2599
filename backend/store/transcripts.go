package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// Entry is one finished transcript in the history. The same request
// (Plan) is stored once; transcribing it again updates Source and
// UpdatedAt.
type Entry struct {
	ID           int64           `json:"id"`
	Plan         string          `json:"-"`
	Source       string          `json:"source"` // the user's path when last transcribed
	Name         string          `json:"name"`   // its base name
	SHA256       string          `json:"sha256"`
	Server       string          `json:"server"`
	Model        string          `json:"model"`
	ModelVersion string          `json:"modelVersion"`
	Options      json.RawMessage `json:"options"`
	Duration     float64         `json:"duration"` // seconds of audio
	Preview      string          `json:"preview"`  // the text's first characters
	CreatedAt    time.Time       `json:"createdAt"`
	UpdatedAt    time.Time       `json:"updatedAt"`
	// Speakers are the transcript's speakers, with the names the user
	// gave them; absent when it was not diarized.
	Speakers []transcript.Speaker `json:"speakers,omitempty"`
	// Audio is how the engine decoded and cut the samples (JSON, the
	// engine's to read), so the entry can be diarized later from the
	// same samples; "{}" when not known.
	Audio json.RawMessage `json:"-"`
}

// previewRunes is how much of the text List and Search return.
const previewRunes = 160

// PutTranscript stores a finished transcript for e.Plan (replacing an
// older one of the same plan) and forgets that plan's chunks, which the
// transcript now supersedes. It returns the entry's id.
func (d *DB) PutTranscript(ctx context.Context, e Entry, t transcript.Transcript) (int64, error) {
	data, err := json.Marshal(t)
	if err != nil {
		return 0, fmt.Errorf("encoding the transcript: %w", err)
	}
	spk, names, err := speakerColumns(t)
	if err != nil {
		return 0, err
	}
	opts := string(e.Options)
	if opts == "" {
		opts = "{}"
	}
	if e.Name == "" {
		e.Name = baseName(e.Source)
	}
	audio := string(e.Audio)
	if audio == "" {
		audio = "{}"
	}
	now := d.millis()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("saving the transcript: %w", err)
	}
	defer tx.Rollback()
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO transcripts(plan, source, name, sha256, server, model, model_version, options, duration, text, transcript, speakers, speaker_names, audio, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(plan) DO UPDATE SET source = excluded.source, name = excluded.name, duration = excluded.duration,
			text = excluded.text, transcript = excluded.transcript, speakers = excluded.speakers,
			speaker_names = excluded.speaker_names, audio = excluded.audio, updated_at = excluded.updated_at
		RETURNING id`,
		e.Plan, e.Source, e.Name, e.SHA256, e.Server, e.Model, e.ModelVersion, opts, e.Duration, t.Text, string(data), spk, names, audio, now, now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("saving the transcript: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM chunks WHERE plan = ?", e.Plan); err != nil {
		return 0, fmt.Errorf("saving the transcript: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("saving the transcript: %w", err)
	}
	return id, nil
}

// speakerColumns are t's speakers as the transcripts table keeps them
// beside the transcript: as JSON for listing, and their labels one a line
// for search.
func speakerColumns(t transcript.Transcript) (list, names string, err error) {
	sp := t.Speakers
	if sp == nil {
		sp = []transcript.Speaker{}
	}
	data, err := json.Marshal(sp)
	if err != nil {
		return "", "", fmt.Errorf("encoding the speakers: %w", err)
	}
	labels := make([]string, 0, len(sp))
	for _, s := range sp {
		labels = append(labels, s.Label)
	}
	return string(data), strings.Join(labels, "\n"), nil
}

// Touch records that the transcript id was used again for source.
func (d *DB) Touch(ctx context.Context, id int64, source string) error {
	_, err := d.db.ExecContext(ctx, "UPDATE transcripts SET source = ?, name = ?, updated_at = ? WHERE id = ?", source, baseName(source), d.millis(), id)
	if err != nil {
		return fmt.Errorf("updating the history: %w", err)
	}
	return nil
}

// entryColumns are the columns scanEntry reads, each behind prefix.
func entryColumns(prefix string) string {
	cols := []string{"id", "plan", "source", "name", "sha256", "server", "model", "model_version", "options", "duration",
		"substr(" + prefix + "text, 1, " + strconv.Itoa(previewRunes) + ")", "created_at", "updated_at", "speakers", "audio"}
	for i, c := range cols {
		if !strings.Contains(c, "(") {
			cols[i] = prefix + c
		}
	}
	return strings.Join(cols, ", ")
}

func scanEntry(row interface{ Scan(...any) error }, extra ...any) (Entry, error) {
	var e Entry
	var opts, spk, audio string
	var created, updated int64
	dest := append([]any{&e.ID, &e.Plan, &e.Source, &e.Name, &e.SHA256, &e.Server, &e.Model, &e.ModelVersion,
		&opts, &e.Duration, &e.Preview, &created, &updated, &spk, &audio}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Entry{}, err
	}
	if err := json.Unmarshal([]byte(spk), &e.Speakers); err != nil || len(e.Speakers) == 0 {
		e.Speakers = nil // a damaged list only costs the listing its names
	}
	e.Options, e.Audio = json.RawMessage(opts), json.RawMessage(audio)
	e.CreatedAt, e.UpdatedAt = fromMillis(created), fromMillis(updated)
	return e, nil
}

// TranscriptFor returns the stored transcript of plan, if any.
func (d *DB) TranscriptFor(ctx context.Context, plan string) (Entry, transcript.Transcript, bool, error) {
	e, t, err := d.transcript(ctx, "plan = ?", plan)
	if errors.Is(err, ErrNotFound) {
		return Entry{}, transcript.Transcript{}, false, nil
	}
	return e, t, err == nil, err
}

// Transcript returns history entry id with its transcript.
func (d *DB) Transcript(ctx context.Context, id int64) (Entry, transcript.Transcript, error) {
	return d.transcript(ctx, "id = ?", id)
}

func (d *DB) transcript(ctx context.Context, where string, arg any) (Entry, transcript.Transcript, error) {
	var data string
	row := d.db.QueryRowContext(ctx, "SELECT "+entryColumns("")+", transcript FROM transcripts WHERE "+where, arg)
	e, err := scanEntry(row, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, transcript.Transcript{}, fmt.Errorf("history entry %v: %w", arg, ErrNotFound)
	}
	if err != nil {
		return Entry{}, transcript.Transcript{}, fmt.Errorf("reading the history: %w", err)
	}
	var t transcript.Transcript
	if err := json.Unmarshal([]byte(data), &t); err != nil {
		return Entry{}, transcript.Transcript{}, fmt.Errorf("history entry %d is damaged: %w", e.ID, err)
	}
	return e, t, nil
}

// History lists entries, most recently used first.
func (d *DB) History(ctx context.Context, limit, offset int) ([]Entry, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := d.db.QueryContext(ctx, "SELECT "+entryColumns("")+" FROM transcripts ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?", limit, max(offset, 0))
	if err != nil {
		return nil, fmt.Errorf("reading the history: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("reading the history: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Hit is one search result: the entry and a snippet of its text around
// the match, with the matched words between the caller's marks.
type Hit struct {
	Entry
	Snippet string `json:"snippet"`
}

// SearchOptions tune Search. Marks default to "[" and "]".
type SearchOptions struct {
	Limit       int
	Open, Close string
}

// Search finds entries whose text, file name or speakers' names hold
// every word of query (the last word also as a prefix), best matches
// first. Query text is taken literally: FTS5's operators are not
// interpreted. The snippet is always from the text.
func (d *DB) Search(ctx context.Context, query string, opts SearchOptions) ([]Hit, error) {
	match := ftsQuery(query)
	if match == "" {
		return nil, errors.New("nothing to search for: give a word")
	}
	if opts.Limit <= 0 {
		opts.Limit = 50
	}
	if opts.Open == "" && opts.Close == "" {
		opts.Open, opts.Close = "[", "]"
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+entryColumns("t.")+`, snippet(transcripts_fts, 1, ?, ?, '…', 16)
		FROM transcripts_fts JOIN transcripts t ON t.id = transcripts_fts.rowid
		WHERE transcripts_fts MATCH ? ORDER BY bm25(transcripts_fts), t.updated_at DESC LIMIT ?`,
		opts.Open, opts.Close, match, opts.Limit)
	if err != nil {
		return nil, fmt.Errorf("searching the history: %w", err)
	}
	defer rows.Close()
	out := []Hit{}
	for rows.Next() {
		var h Hit
		e, err := scanEntry(rows, &h.Snippet)
		if err != nil {
			return nil, fmt.Errorf("searching the history: %w", err)
		}
		h.Entry = e
		out = append(out, h)
	}
	return out, rows.Err()
}

// ftsQuery turns what a user typed into an FTS5 query: every word quoted
// (so "-", ":" or a stray quote are text, not syntax), all required, the
// last one also matching as a prefix while the user is still typing.
func ftsQuery(q string) string {
	words := strings.Fields(q)
	for i, w := range words {
		words[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
	}
	if n := len(words); n > 0 {
		words[n-1] += "*"
	}
	return strings.Join(words, " ")
}

// DeleteTranscript removes a history entry.
func (d *DB) DeleteTranscript(ctx context.Context, id int64) error {
	res, err := d.db.ExecContext(ctx, "DELETE FROM transcripts WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("deleting history entry %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("history entry %d: %w", id, ErrNotFound)
	}
	return nil
}

func baseName(p string) string {
	// The user's path may be a Windows path seen on another OS (history
	// moved between machines); take the last element either way.
	p = filepath.Base(filepath.FromSlash(p))
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	return p
}
