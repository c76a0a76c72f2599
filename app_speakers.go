package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/speakers"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// speakerStore is what the speaker edits need of *store.DB: each change
// rewrites the stored transcript in one transaction, so exports, search
// and reopening see it.
type speakerStore interface {
	Transcript(ctx context.Context, id int64) (store.Entry, transcript.Transcript, error)
	RenameSpeaker(ctx context.Context, id int64, old, label string) (transcript.Speaker, error)
	MergeSpeakers(ctx context.Context, id int64, into, from string) error
	SetSegmentSpeaker(ctx context.Context, id int64, index int, to string) (transcript.Transcript, error)
	RestoreSpeakers(ctx context.Context, id int64, snap speakers.Snapshot) (transcript.Transcript, error)
}

// speakerRequest is the diarization the Speakers setting asks for; nil
// when it is off.
func speakerRequest(s config.Settings) *transcribe.SpeakerOptions {
	n, on := config.SpeakerCount(s.Speakers)
	if !on {
		return nil
	}
	return &transcribe.SpeakerOptions{Count: n}
}

// SetSpeakers saves the Speakers choice for files added from now on ("" =
// off, "auto", or a count such as "3") and returns the settings saved.
// Only that field changes, so the choice beside the drop zone never saves
// a half-edited Settings form (and SaveSettings leaves the choice alone).
func (a *App) SetSpeakers(choice string) (config.Settings, error) {
	return a.settings.SetSpeakers(choice)
}

// speakers is the store the speaker edits go to, or why there is none.
// It is the history's database (main wires *store.DB as the edit store).
func (a *App) speakers(historyID int64) (speakerStore, error) {
	st, ok := a.editStore.(speakerStore)
	if !ok || historyID == 0 {
		return nil, errors.New("speaker changes are kept in the history, and this transcript is not in it")
	}
	return st, nil
}

// RenameSpeaker names speaker old (its label, or its id such as "S2") of
// a history entry label, once for the whole transcript; it returns the
// transcript as the history now keeps it.
func (a *App) RenameSpeaker(historyID int64, old, label string) (transcript.Transcript, error) {
	return a.changeSpeakers(historyID, "renaming the speaker", func(ctx context.Context, st speakerStore) (transcript.Transcript, error) {
		if _, err := st.RenameSpeaker(ctx, historyID, old, label); err != nil {
			return transcript.Transcript{}, err
		}
		_, t, err := st.Transcript(ctx, historyID)
		return t, err
	})
}

// MergeSpeakers makes speaker from into speaker into: from's segments
// become into's and from leaves the list.
func (a *App) MergeSpeakers(historyID int64, into, from string) (transcript.Transcript, error) {
	return a.changeSpeakers(historyID, "merging the speakers", func(ctx context.Context, st speakerStore) (transcript.Transcript, error) {
		if err := st.MergeSpeakers(ctx, historyID, into, from); err != nil {
			return transcript.Transcript{}, err
		}
		_, t, err := st.Transcript(ctx, historyID)
		return t, err
	})
}

// SetSegmentSpeaker gives one segment (0-based) to another speaker.
func (a *App) SetSegmentSpeaker(historyID int64, index int, speaker string) (transcript.Transcript, error) {
	return a.changeSpeakers(historyID, "changing the segment's speaker", func(ctx context.Context, st speakerStore) (transcript.Transcript, error) {
		return st.SetSegmentSpeaker(ctx, historyID, index, speaker)
	})
}

// RestoreSpeakers puts back who said what as snap recorded it: the undo
// and redo of the edits above.
func (a *App) RestoreSpeakers(historyID int64, snap speakers.Snapshot) (transcript.Transcript, error) {
	return a.changeSpeakers(historyID, "undoing the speaker change", func(ctx context.Context, st speakerStore) (transcript.Transcript, error) {
		return st.RestoreSpeakers(ctx, historyID, snap)
	})
}

// changeSpeakers runs one speaker edit under the edit timeout and words
// its failure for the user. The speakers package's errors are sentences
// already and pass as they are.
func (a *App) changeSpeakers(historyID int64, doing string, change func(context.Context, speakerStore) (transcript.Transcript, error)) (transcript.Transcript, error) {
	st, err := a.speakers(historyID)
	if err != nil {
		return transcript.Transcript{}, err
	}
	ctx, cancel := a.timeout(editTimeout)
	defer cancel()
	t, err := change(ctx, st)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return t, errors.New("this transcript is no longer in the history, so the change cannot be kept")
	case errors.Is(err, speakers.ErrStale):
		return t, fmt.Errorf("%w: reopen the transcript and make the change again", err)
	case errors.Is(err, speakers.ErrNotDiarized), errors.Is(err, speakers.ErrUnknownSpeaker),
		errors.Is(err, speakers.ErrLabelTaken), errors.Is(err, speakers.ErrBadLabel), errors.Is(err, speakers.ErrNoSegment):
		return t, err
	case err != nil:
		return t, fmt.Errorf("%s: %w", doing, err)
	}
	return t, nil
}
