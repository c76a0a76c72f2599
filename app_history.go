package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// historyStore is the part of *store.DB the history view uses.
type historyStore interface {
	History(ctx context.Context, limit, offset int) ([]store.Entry, error)
	Search(ctx context.Context, query string, opts store.SearchOptions) ([]store.Hit, error)
	Transcript(ctx context.Context, id int64) (store.Entry, transcript.Transcript, error)
	DeleteTranscript(ctx context.Context, id int64) error
}

// historyLimit is how many entries the list shows at once.
const historyLimit = 200

// errNoHistory: the app runs without a database.
var errNoHistory = errors.New("the history is not available: the app could not open its database")

// History lists past transcripts, newest first, or with a query those
// whose text matches it (full-text), best first, with a snippet in which
// the matches are marked with « ».
func (a *App) History(query string) ([]store.Hit, error) {
	if a.history == nil {
		return nil, errNoHistory
	}
	ctx, cancel := a.timeout(editTimeout)
	defer cancel()
	if strings.TrimSpace(query) == "" {
		entries, err := a.history.History(ctx, historyLimit, 0)
		if err != nil {
			return nil, err
		}
		out := make([]store.Hit, len(entries))
		for i, e := range entries {
			out[i] = store.Hit{Entry: e, Snippet: e.Preview}
		}
		return out, nil
	}
	return a.history.Search(ctx, query, store.SearchOptions{Limit: historyLimit, Open: "«", Close: "»"})
}

// HistoryTranscript is a past transcript with the user's edits.
func (a *App) HistoryTranscript(id int64) (transcript.Transcript, error) {
	if a.history == nil {
		return transcript.Transcript{}, errNoHistory
	}
	ctx, cancel := a.timeout(editTimeout)
	defer cancel()
	e, t, err := a.history.Transcript(ctx, id)
	if err != nil {
		return t, fmt.Errorf("opening the transcript: %w", err)
	}
	t.Source = e.Source // where the file was last transcribed from
	return t, nil
}

// DeleteHistory removes a past transcript with its edits. The audio file
// and exported files are left alone.
func (a *App) DeleteHistory(id int64) error {
	if a.history == nil {
		return errNoHistory
	}
	ctx, cancel := a.timeout(editTimeout)
	defer cancel()
	if err := a.history.DeleteTranscript(ctx, id); err != nil {
		return fmt.Errorf("deleting the transcript: %w", err)
	}
	return nil
}
