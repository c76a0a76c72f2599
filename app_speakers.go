package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"strings"
	"time"

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
		return nil, apperr.New(apperr.CodeBadInput, nil, "speaker changes are kept in the history, and this transcript is not in it")
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
		return t, apperr.New(apperr.CodeBadInput, err, "this transcript is no longer in the history, so the change cannot be kept")
	case errors.Is(err, speakers.ErrStale):
		return t, apperr.New(apperr.CodeBadInput, err, "%s: reopen the transcript and make the change again", err)
	case errors.Is(err, speakers.ErrNotDiarized), errors.Is(err, speakers.ErrUnknownSpeaker),
		errors.Is(err, speakers.ErrLabelTaken), errors.Is(err, speakers.ErrBadLabel), errors.Is(err, speakers.ErrNoSegment):
		return t, err
	case err != nil:
		return t, fmt.Errorf("%s: %w", doing, err)
	}
	return t, nil
}

// EventSpeakersProgress carries a FindSpeakers run's progress: a
// SpeakersProgress, at most about ten a second (the engine holds them back).
const EventSpeakersProgress = "speakers:progress"

// findSpeakersTimeout bounds one FindSpeakers run; the engine bounds each
// request to the server within it.
const findSpeakersTimeout = 2 * time.Hour

// diarizer is what finding speakers later asks of the engine;
// *transcribe.Engine has it.
type diarizer interface {
	Diarize(ctx context.Context, req transcribe.DiarizeRequest, progress func(transcribe.Progress)) (transcribe.Result, error)
}

// SpeakersProgress is one step of a FindSpeakers run for the UI.
type SpeakersProgress struct {
	HistoryID int64               `json:"historyId"`
	Progress  transcribe.Progress `json:"progress"`
}

// FindSpeakers diarizes a finished transcript of the history without
// transcribing it again ("Find speakers…"): choice is "auto" (or "") or a
// count. It returns the transcript as the history now keeps it, with its
// speakers; a failure is one sentence and leaves the transcript as it was.
// CancelFindSpeakers stops it.
func (a *App) FindSpeakers(historyID int64, choice string) (transcript.Transcript, error) {
	d, ok := a.engine.(diarizer)
	if !ok || a.editStore == nil || historyID == 0 {
		return transcript.Transcript{}, apperr.New(apperr.CodeBadInput, nil, "speakers are found for transcripts in the history, and this transcript is not in it")
	}
	opts := transcribe.SpeakerOptions{}
	if choice != "" && choice != "auto" {
		n, on := config.SpeakerCount(choice)
		if !on {
			return transcript.Transcript{}, apperr.New(apperr.CodeBadInput, nil, "the number of speakers must be auto or from 2 to %d, not %q", config.MaxSpeakers, choice)
		}
		opts.Count = n
	}
	s := a.settings.Get()
	base, emit := a.runtimeSeams()
	ctx, cancel := context.WithTimeout(base, findSpeakersTimeout)
	defer cancel()
	if !a.finding(historyID, cancel) {
		return transcript.Transcript{}, errors.New("speakers are being found for this transcript already")
	}
	defer a.finding(historyID, nil)
	res, err := d.Diarize(ctx, transcribe.DiarizeRequest{
		HistoryID: historyID, Server: orDefault(s.Server, config.DefaultServer), Speakers: opts,
		CacheDir: s.CacheDir, FFmpegPath: s.FFmpegPath,
	}, func(p transcribe.Progress) {
		emit(EventSpeakersProgress, SpeakersProgress{HistoryID: historyID, Progress: p})
	})
	switch {
	case err != nil && errors.Is(err, context.Canceled) && base.Err() == nil:
		return res.Transcript, errors.New("finding speakers was cancelled; the transcript is as it was")
	case err != nil && res.DiarizationError != "":
		return res.Transcript, fmt.Errorf("the speakers could not be found: %s", strings.TrimRight(res.DiarizationError, "."))
	case err != nil:
		return res.Transcript, fmt.Errorf("finding speakers: %w", err)
	}
	t := res.Transcript
	if e, _, err := a.editStore.Transcript(ctx, historyID); err == nil {
		t.Source = e.Source
	}
	return t, nil
}

// CancelFindSpeakers stops a FindSpeakers run for the entry, if one runs.
func (a *App) CancelFindSpeakers(historyID int64) {
	a.findMu.Lock()
	defer a.findMu.Unlock()
	if cancel := a.finds[historyID]; cancel != nil {
		cancel()
	}
}

// finding registers the cancel of a run for historyID (false when one is
// registered already), or with nil forgets it.
func (a *App) finding(historyID int64, cancel context.CancelFunc) bool {
	a.findMu.Lock()
	defer a.findMu.Unlock()
	if cancel == nil {
		delete(a.finds, historyID)
		return true
	}
	if a.finds[historyID] != nil {
		return false
	}
	if a.finds == nil {
		a.finds = map[int64]context.CancelFunc{}
	}
	a.finds[historyID] = cancel
	return true
}
