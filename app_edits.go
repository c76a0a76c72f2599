package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// editStore keeps small values by key; *store.DB's settings table does.
// The store has no way to change a transcript yet, so a segment's edited
// text is kept beside it, by history id, and laid over it when read.
type editStore interface {
	Setting(ctx context.Context, key string) (string, bool, error)
	SetSetting(ctx context.Context, key, value string) error
}

const editTimeout = 10 * time.Second

func editKey(historyID int64) string { return "transcript-edits:" + strconv.FormatInt(historyID, 10) }

// edits returns the edited texts of a history entry by segment index.
func (a *App) edits(ctx context.Context, historyID int64) (map[int]string, error) {
	out := map[int]string{}
	if a.editStore == nil || historyID == 0 {
		return out, nil
	}
	v, ok, err := a.editStore.Setting(ctx, editKey(historyID))
	if err != nil || !ok {
		return out, err
	}
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return map[int]string{}, nil // a damaged record loses the edits, not the transcript
	}
	return out, nil
}

// applyEdits lays the edited texts over t's segments and rebuilds its text.
func applyEdits(t *transcript.Transcript, edits map[int]string) {
	if len(edits) == 0 {
		return
	}
	segs := make([]transcript.Segment, len(t.Segments))
	copy(segs, t.Segments)
	var texts []string
	for i := range segs {
		if e, ok := edits[i]; ok {
			segs[i].Text = e
		}
		texts = append(texts, segs[i].Text)
	}
	t.Segments = segs
	t.Text = strings.Join(texts, " ")
}

// JobResult is a finished job's transcript, with the user's edits, and
// the files written.
func (a *App) JobResult(id int64) (transcribe.Result, error) {
	res, err := a.queue.Result(transcribe.JobID(id))
	if err != nil {
		return res, err
	}
	ctx, cancel := a.timeout(editTimeout)
	defer cancel()
	e, err := a.edits(ctx, res.HistoryID)
	if err != nil {
		return res, fmt.Errorf("reading your edits: %w", err)
	}
	applyEdits(&res.Transcript, e)
	return res, nil
}

// EditSegment replaces the text of one segment of a history entry and
// keeps the edit there: reopening the transcript shows it.
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
	e, err := a.edits(ctx, historyID)
	if err != nil {
		return fmt.Errorf("saving your edit: %w", err)
	}
	e[index] = text
	b, _ := json.Marshal(e)
	if err := a.editStore.SetSetting(ctx, editKey(historyID), string(b)); err != nil {
		return fmt.Errorf("saving your edit: %w", err)
	}
	return nil
}

func (a *App) timeout(d time.Duration) (context.Context, context.CancelFunc) {
	base, _ := a.runtimeSeams()
	return context.WithTimeout(base, d)
}
