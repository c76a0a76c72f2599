package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// editStore is what edits need of *store.DB: an edit rewrites the stored
// transcript, so search finds it and every reader sees it. (Edits earlier
// versions kept beside the transcripts are moved in by store.Open.)
type editStore interface {
	Transcript(ctx context.Context, id int64) (store.Entry, transcript.Transcript, error)
	EditSegment(ctx context.Context, id int64, index int, text string) error
}

const editTimeout = 10 * time.Second

// JobResult is a finished job's transcript as the history keeps it (with
// the user's edits), and the files written.
func (a *App) JobResult(id int64) (transcribe.Result, error) {
	res, err := a.queue.Result(transcribe.JobID(id))
	if err != nil || a.editStore == nil || res.HistoryID == 0 {
		return res, err
	}
	ctx, cancel := a.timeout(editTimeout)
	defer cancel()
	_, t, err := a.editStore.Transcript(ctx, res.HistoryID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Deleted from the history: the job still has the transcript it made.
	case err != nil:
		return res, fmt.Errorf("reading the transcript: %w", err)
	default:
		// Only the text and who said it (renamed speakers): the job knows
		// its own source path and metadata.
		res.Transcript.Text, res.Transcript.Segments, res.Transcript.Speakers = t.Text, t.Segments, t.Speakers
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
