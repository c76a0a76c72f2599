// Package store keeps what the app must not lose in one SQLite file under
// the data folder: every finished chunk's result (so a killed run resumes
// where it stopped), every finished transcript (so the same request is
// answered at once, and history can be searched), and the jobs with the
// settings they ran with.
//
// The database runs in WAL mode with synchronous=NORMAL: a transaction
// that returned has survived a crash or kill of the app; a power cut may
// lose the last few, which only means re-sending those chunks.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// FileName is the database file's name inside the data folder.
const FileName = "nemo-transcribe.db"

// ErrNotFound is wrapped by lookups of an id that does not exist.
var ErrNotFound = errors.New("not found")

// DB is the app's database. It is safe for concurrent use, also by several
// processes (the CLI and the app) at once.
type DB struct {
	db   *sql.DB
	path string
	now  func() time.Time
}

// Open opens (creating when missing) the database in dir, creating dir
// too, and brings its schema up to date.
func Open(dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data folder: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// Every pooled connection gets these pragmas. busy_timeout makes a
	// writer wait for another process instead of failing; _txlock=immediate
	// takes the write lock at BEGIN, so two writers never deadlock on an
	// upgrade.
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", sqliteURI(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	// One connection: SQLite takes one writer at a time anyway, and a
	// single connection cannot lock itself out.
	db.SetMaxOpenConns(1)
	d := &DB{db: db, path: path, now: time.Now}
	if err := d.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("preparing %s: %w", path, err)
	}
	if err := d.moveOverlayEdits(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("preparing %s: moving your edits into the history: %w", path, err)
	}
	return d, nil
}

// uriEscaper escapes what would end or garble the path in an SQLite URI
// filename ("%" first, so the others' escapes stay intact).
var uriEscaper = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

// sqliteURI is path as an SQLite URI filename: "file:/home/u/x.db",
// "file:///C:/Users/u/x.db", "file:////server/share/x.db".
func sqliteURI(path string) string {
	p := filepath.ToSlash(path)
	switch {
	case strings.HasPrefix(p, "//"): // a UNC path: empty authority, then the path
		p = "//" + p
	case filepath.VolumeName(path) != "": // a drive letter
		p = "///" + p
	}
	return "file:" + uriEscaper.Replace(p)
}

// Path is the database file.
func (d *DB) Path() string { return d.path }

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// migrations bring an older schema up to date; user_version counts the
// ones applied. Append only.
var migrations = []string{
	`
CREATE TABLE chunks (
	plan       TEXT    NOT NULL,  -- what was asked: content, server, model, options, chunk plan
	idx        INTEGER NOT NULL,  -- chunk number from 0
	offset     INTEGER NOT NULL,  -- first sample, 16 kHz
	samples    INTEGER NOT NULL,  -- length, 16 kHz samples
	audio_hash TEXT    NOT NULL,  -- hash of the samples sent
	result     TEXT    NOT NULL,  -- transcript.ChunkResult as JSON
	created_at INTEGER NOT NULL,  -- unix ms
	PRIMARY KEY (plan, idx)
) WITHOUT ROWID;

CREATE TABLE transcripts (
	id            INTEGER PRIMARY KEY,
	plan          TEXT    NOT NULL UNIQUE,
	source        TEXT    NOT NULL,  -- the user's path when last transcribed
	name          TEXT    NOT NULL,  -- its base name, for listing and search
	sha256        TEXT    NOT NULL,
	server        TEXT    NOT NULL,
	model         TEXT    NOT NULL,
	model_version TEXT    NOT NULL,
	options       TEXT    NOT NULL,  -- JSON
	duration      REAL    NOT NULL,
	text          TEXT    NOT NULL,
	transcript    TEXT    NOT NULL,  -- transcript.Transcript as JSON
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);
CREATE INDEX transcripts_updated ON transcripts(updated_at);

CREATE VIRTUAL TABLE transcripts_fts USING fts5(
	name, text, content='transcripts', content_rowid='id',
	tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER transcripts_ai AFTER INSERT ON transcripts BEGIN
	INSERT INTO transcripts_fts(rowid, name, text) VALUES (new.id, new.name, new.text);
END;
CREATE TRIGGER transcripts_ad AFTER DELETE ON transcripts BEGIN
	INSERT INTO transcripts_fts(transcripts_fts, rowid, name, text) VALUES ('delete', old.id, old.name, old.text);
END;
CREATE TRIGGER transcripts_au AFTER UPDATE OF name, text ON transcripts BEGIN
	INSERT INTO transcripts_fts(transcripts_fts, rowid, name, text) VALUES ('delete', old.id, old.name, old.text);
	INSERT INTO transcripts_fts(rowid, name, text) VALUES (new.id, new.name, new.text);
END;

CREATE TABLE jobs (
	id            INTEGER PRIMARY KEY,
	source        TEXT    NOT NULL,
	settings      TEXT    NOT NULL,  -- the request as JSON
	state         TEXT    NOT NULL,
	error         TEXT    NOT NULL DEFAULT '',
	plan          TEXT    NOT NULL DEFAULT '',
	transcript_id INTEGER REFERENCES transcripts(id) ON DELETE SET NULL,
	outputs       TEXT    NOT NULL DEFAULT '[]',  -- JSON list of paths
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);
CREATE INDEX jobs_state ON jobs(state);

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
`,
	// Speakers: listed with each entry and found by search. The
	// transcript's JSON holds them already; the columns copy them out.
	`
ALTER TABLE transcripts ADD COLUMN speakers TEXT NOT NULL DEFAULT '[]';     -- JSON [{"id","label","seconds"}]
ALTER TABLE transcripts ADD COLUMN speaker_names TEXT NOT NULL DEFAULT '';  -- the labels, one a line, for search
UPDATE transcripts SET
	speakers = COALESCE(json_extract(transcript, '$.speakers'), '[]'),
	speaker_names = COALESCE((SELECT group_concat(json_extract(value, '$.label'), char(10))
		FROM json_each(transcript, '$.speakers')), '')
	WHERE json_valid(transcript) AND json_type(transcript, '$.speakers') = 'array';

DROP TRIGGER transcripts_ai;
DROP TRIGGER transcripts_ad;
DROP TRIGGER transcripts_au;
DROP TABLE transcripts_fts;
CREATE VIRTUAL TABLE transcripts_fts USING fts5(
	name, text, speaker_names, content='transcripts', content_rowid='id',
	tokenize='unicode61 remove_diacritics 2'
);
INSERT INTO transcripts_fts(transcripts_fts) VALUES ('rebuild');
CREATE TRIGGER transcripts_ai AFTER INSERT ON transcripts BEGIN
	INSERT INTO transcripts_fts(rowid, name, text, speaker_names) VALUES (new.id, new.name, new.text, new.speaker_names);
END;
CREATE TRIGGER transcripts_ad AFTER DELETE ON transcripts BEGIN
	INSERT INTO transcripts_fts(transcripts_fts, rowid, name, text, speaker_names) VALUES ('delete', old.id, old.name, old.text, old.speaker_names);
END;
CREATE TRIGGER transcripts_au AFTER UPDATE OF name, text, speaker_names ON transcripts BEGIN
	INSERT INTO transcripts_fts(transcripts_fts, rowid, name, text, speaker_names) VALUES ('delete', old.id, old.name, old.text, old.speaker_names);
	INSERT INTO transcripts_fts(rowid, name, text, speaker_names) VALUES (new.id, new.name, new.text, new.speaker_names);
END;
`,
	// Speaker embeddings per chunk, kept like chunk results so a resumed
	// job or a later diarization re-sends nothing done; and how each
	// transcript's audio was decoded and cut, so it can be diarized later
	// from the same samples.
	`
CREATE TABLE embeddings (
	plan       TEXT    NOT NULL,  -- content, server, speaker model and version, decoding, chunk plan
	idx        INTEGER NOT NULL,  -- chunk number from 0
	offset     INTEGER NOT NULL,  -- first sample, 16 kHz
	samples    INTEGER NOT NULL,  -- length, 16 kHz samples
	audio_hash TEXT    NOT NULL,  -- hash of the chunk's samples
	dim        INTEGER NOT NULL,  -- values per embedding
	spans      BLOB    NOT NULL,  -- [start, end) sample pairs in the chunk, int64 little-endian
	vectors    BLOB    NOT NULL,  -- one embedding per span, float32 little-endian
	created_at INTEGER NOT NULL,  -- unix ms
	PRIMARY KEY (plan, idx)
) WITHOUT ROWID;
CREATE INDEX embeddings_created ON embeddings(created_at);
ALTER TABLE transcripts ADD COLUMN audio TEXT NOT NULL DEFAULT '{}';  -- JSON: decoding and chunking of the samples
`,
}

func (d *DB) migrate(ctx context.Context) error {
	// WAL must be on before the first write; the pragma in the DSN already
	// asked for it, this checks it took (it cannot on some network drives).
	var mode string
	if err := d.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if mode != "wal" {
		return fmt.Errorf("the database cannot use write-ahead logging here (journal mode %q); is the data folder on a network drive?", mode)
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("the database was written by a newer version of NeMo Transcribe (schema %d, this one knows %d)", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("schema step %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}

func (d *DB) millis() int64 { return d.now().UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// Setting returns a stored setting, "" and false when unset.
func (d *DB) Setting(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := d.db.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading setting %s: %w", key, err)
	}
	return v, true, nil
}

// SetSetting stores a setting.
func (d *DB) SetSetting(ctx context.Context, key, value string) error {
	_, err := d.db.ExecContext(ctx, "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value)
	if err != nil {
		return fmt.Errorf("saving setting %s: %w", key, err)
	}
	return nil
}

// SettingsWithPrefix returns the stored settings whose key starts with
// prefix, by key.
func (d *DB) SettingsWithPrefix(ctx context.Context, prefix string) (map[string]string, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT key, value FROM settings WHERE substr(key, 1, length(?1)) = ?1", prefix)
	if err != nil {
		return nil, fmt.Errorf("reading settings %s*: %w", prefix, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("reading settings %s*: %w", prefix, err)
		}
		out[k] = v
	}
	return out, rows.Err()
}

// DeleteSetting removes a setting; an unset one is no error.
func (d *DB) DeleteSetting(ctx context.Context, key string) error {
	if _, err := d.db.ExecContext(ctx, "DELETE FROM settings WHERE key = ?", key); err != nil {
		return fmt.Errorf("removing setting %s: %w", key, err)
	}
	return nil
}
