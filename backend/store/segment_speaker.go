package store

import (
	"context"

	"github.com/nemo-transcribe/nemo-transcribe/backend/speakers"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// SetSegmentSpeaker gives segment index of history entry id (and its
// words) to speaker to (a label or an id: see speakers.Reassign), kept as
// RenameSpeaker keeps a rename. It returns the transcript as stored.
func (d *DB) SetSegmentSpeaker(ctx context.Context, id int64, index int, to string) (transcript.Transcript, error) {
	return d.changeSpeakers(ctx, id, func(t transcript.Transcript) (transcript.Transcript, error) {
		return speakers.Reassign(t, index, to)
	})
}

// RestoreSpeakers puts back who said what in entry id as snap recorded it
// (the app's Undo and Redo of speaker edits; see speakers.Restore). It
// returns the transcript as stored.
func (d *DB) RestoreSpeakers(ctx context.Context, id int64, snap speakers.Snapshot) (transcript.Transcript, error) {
	return d.changeSpeakers(ctx, id, func(t transcript.Transcript) (transcript.Transcript, error) {
		return speakers.Restore(t, snap)
	})
}

// changeSpeakers runs change in changeTranscript's transaction and returns
// the transcript change made (or the stored one when nothing changed), so
// the caller shows what the history now holds without reading it again.
func (d *DB) changeSpeakers(ctx context.Context, id int64, change func(transcript.Transcript) (transcript.Transcript, error)) (transcript.Transcript, error) {
	var got transcript.Transcript
	err := d.changeTranscript(ctx, id, func(t transcript.Transcript) (transcript.Transcript, error) {
		out, err := change(t)
		if err == nil {
			got = out
		}
		return out, err
	})
	return got, err
}
