package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nemo-transcribe/nemo-transcribe/backend/speakers"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// RenameSpeaker gives speaker old of history entry id (its label, or its
// id such as "S2": see speakers.Find) the name label, once for the whole
// transcript: the speakers list, every segment and every word. Exports
// made afterwards carry the new name, search finds it and no longer the
// old one, and the entry moves to the top of the history. It returns the
// speaker as renamed. Errors: ErrNotFound for an unknown entry, and
// speakers.ErrNotDiarized, ErrUnknownSpeaker, ErrLabelTaken and
// ErrBadLabel (errors.Is).
func (d *DB) RenameSpeaker(ctx context.Context, id int64, old, label string) (transcript.Speaker, error) {
	var renamed transcript.Speaker
	err := d.changeTranscript(ctx, id, func(t transcript.Transcript) (transcript.Transcript, error) {
		i, err := speakers.Find(t, old)
		if err != nil {
			return t, err
		}
		if t, err = speakers.Rename(t, old, label); err != nil {
			return t, err
		}
		renamed = t.Speakers[i]
		return t, nil
	})
	return renamed, err
}

// MergeSpeakers makes speaker from of history entry id into speaker into
// (see speakers.Merge: from's words and segments become into's, the
// seconds add up, segments are not joined), kept as RenameSpeaker keeps a
// rename.
func (d *DB) MergeSpeakers(ctx context.Context, id int64, into, from string) error {
	return d.changeTranscript(ctx, id, func(t transcript.Transcript) (transcript.Transcript, error) {
		return speakers.Merge(t, into, from)
	})
}

// errUnchanged tells changeTranscript that change had nothing to do.
var errUnchanged = errors.New("unchanged")

// changeTranscript reads the transcript of entry id, has change make a new
// one and stores it with its text and speakers columns (which the search
// index follows), all in one transaction. An error from change stores
// nothing and is returned as it is (errUnchanged as nil).
func (d *DB) changeTranscript(ctx context.Context, id int64, change func(transcript.Transcript) (transcript.Transcript, error)) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("saving the change: %w", err)
	}
	defer tx.Rollback()
	var data string
	err = tx.QueryRowContext(ctx, "SELECT transcript FROM transcripts WHERE id = ?", id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("history entry %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("saving the change: %w", err)
	}
	var t transcript.Transcript
	if err := json.Unmarshal([]byte(data), &t); err != nil {
		return fmt.Errorf("history entry %d is damaged: %w", id, err)
	}
	t, err = change(t)
	if errors.Is(err, errUnchanged) {
		return nil // the entry keeps its place
	}
	if err != nil {
		return err
	}
	out, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encoding the transcript: %w", err)
	}
	if string(out) == data {
		return nil // nothing changed: the entry keeps its place
	}
	spk, names, err := speakerColumns(t)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE transcripts SET text = ?, transcript = ?, speakers = ?, speaker_names = ?, updated_at = ? WHERE id = ?",
		t.Text, string(out), spk, names, d.millis(), id); err != nil {
		return fmt.Errorf("saving the change: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("saving the change: %w", err)
	}
	return nil
}
