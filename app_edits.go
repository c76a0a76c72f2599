package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// editStore is what edits need of *store.DB: an edit rewrites the stored
// transcript, so search finds it and every reader sees it. Earlier
// versions kept edits beside the transcript in the settings table; those
// are moved into the transcripts (migrateEdits).
type editStore interface {
	Transcript(ctx context.Context, id int64) (store.Entry, transcript.Transcript, error)
	EditSegment(ctx context.Context, id int64, index int, text string) error
	SettingsWithPrefix(ctx context.Context, prefix string) (map[string]string, error)
	DeleteSetting(ctx context.Context, key string) error
}

const editTimeout = 10 * time.Second

// oldEditsPrefix is the settings key under which earlier versions kept a
// history entry's edits: "transcript-edits:<id>" = {"<segment>": "text"}.
const oldEditsPrefix = "transcript-edits:"

func editKey(historyID int64) string { return oldEditsPrefix + strconv.FormatInt(historyID, 10) }

// migrateEdits writes edits kept the old way into their transcripts and
// forgets them. Once done it costs one query that finds nothing, so every
// reader of transcripts runs it rather than the app remembering it ran.
// An edit whose entry or segment is gone has nothing to apply to and is
// dropped; any other failure keeps the record for the next try.
func (a *App) migrateEdits(ctx context.Context) error {
	if a.editStore == nil {
		return nil
	}
	old, err := a.editStore.SettingsWithPrefix(ctx, oldEditsPrefix)
	if err != nil {
		return err
	}
	for key, value := range old {
		id, err := strconv.ParseInt(strings.TrimPrefix(key, oldEditsPrefix), 10, 64)
		var edits map[int]string
		if err == nil && json.Unmarshal([]byte(value), &edits) == nil { // a damaged record has nothing to save
			for _, i := range slices.Sorted(maps.Keys(edits)) {
				text := strings.Join(strings.Fields(edits[i]), " ")
				if text == "" {
					continue
				}
				err := a.editStore.EditSegment(ctx, id, i, text)
				if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrNoSegment) {
					return err
				}
			}
		}
		if err := a.editStore.DeleteSetting(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

// JobResult is a finished job's transcript as the history keeps it (with
// the user's edits), and the files written.
func (a *App) JobResult(id int64) (transcribe.Result, error) {
	res, err := a.queue.Result(transcribe.JobID(id))
	if err != nil || a.editStore == nil || res.HistoryID == 0 {
		return res, err
	}
	ctx, cancel := a.timeout(editTimeout)
	defer cancel()
	if err := a.migrateEdits(ctx); err != nil {
		return res, fmt.Errorf("reading your edits: %w", err)
	}
	_, t, err := a.editStore.Transcript(ctx, res.HistoryID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Deleted from the history: the job still has the transcript it made.
	case err != nil:
		return res, fmt.Errorf("reading the transcript: %w", err)
	default:
		// Only the text: the job knows its own source path and metadata.
		res.Transcript.Text, res.Transcript.Segments = t.Text, t.Segments
	}
	return res, nil
}

// EditSegment replaces the text of one segment of a history entry in the
// history itself: reopening, exporting and searching see the edit.
func (a *App) EditSegment(historyID int64, index int, text string) error {
	text = strings.Join(strings.Fields(text), " ")
	switch {
	case a.editStore == nil || historyID == 0:
		return errors.New("edits are kept in the history, and this transcript is not in it")
	case index < 0:
		return fmt.Errorf("there is no segment %d", index)
	case text == "":
		return errors.New("a segment cannot be empty: write something, or keep the old text")
	}
	ctx, cancel := a.timeout(editTimeout)
	defer cancel()
	// Older edits first, so a new edit of the same segment wins.
	if err := a.migrateEdits(ctx); err != nil {
		return fmt.Errorf("saving your edit: %w", err)
	}
	err := a.editStore.EditSegment(ctx, historyID, index, text)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errors.New("this transcript is no longer in the history, so the edit cannot be kept")
	case errors.Is(err, store.ErrNoSegment):
		return fmt.Errorf("there is no segment %d in this transcript: reopen it and try again", index+1)
	case err != nil:
		return fmt.Errorf("saving your edit: %w", err)
	}
	return nil
}

func (a *App) timeout(d time.Duration) (context.Context, context.CancelFunc) {
	base, _ := a.runtimeSeams()
	return context.WithTimeout(base, d)
}
