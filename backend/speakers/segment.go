package speakers

import (
	"errors"
	"fmt"
	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"math"
	"slices"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// ErrNoSegment is wrapped when a segment index is outside the transcript.
var ErrNoSegment = errors.New("no such segment")

// ErrStale is wrapped when a Snapshot no longer fits the transcript (its
// segments were split or joined since it was taken).
var ErrStale = errors.New("the transcript changed since")

// Reassign returns a copy of t in which segment index (0-based) and its
// words belong to speaker to (see Find). The segment's length moves from
// its old speaker's seconds to to's; a speaker left with no segment at
// all leaves the list, as a merge would have it, so exports never list a
// speaker who says nothing. Reassigning a segment to its own speaker
// returns t unchanged.
func Reassign(t transcript.Transcript, index int, to string) (transcript.Transcript, error) {
	j, err := Find(t, to)
	if err != nil {
		return t, err
	}
	if index < 0 || index >= len(t.Segments) {
		return t, apperr.New(apperr.CodeBadInput, ErrNoSegment, "no such segment: the transcript has %d segments, not a segment %d", len(t.Segments), index+1)
	}
	label := t.Speakers[j].Label
	from := t.Segments[index].Speaker
	if from == label {
		return t, nil
	}
	out := t
	out.Speakers = slices.Clone(t.Speakers)
	out.Segments = slices.Clone(t.Segments)
	seg := &out.Segments[index]
	seg.Speaker = label
	seg.Words = slices.Clone(seg.Words)
	for k := range seg.Words {
		seg.Words[k].Speaker = label
	}
	secs := math.Max(seg.End-seg.Start, 0)
	out.Speakers[j].Seconds += secs
	if i := slices.IndexFunc(out.Speakers, func(s transcript.Speaker) bool { return s.Label == from }); i >= 0 {
		out.Speakers[i].Seconds = math.Max(out.Speakers[i].Seconds-secs, 0)
		if !slices.ContainsFunc(out.Segments, func(s transcript.Segment) bool { return s.Speaker == from }) {
			out.Speakers = slices.Delete(out.Speakers, i, i+1)
		}
	}
	return out, nil
}

// Snapshot is who said what in a transcript, without the text: its
// speakers and each segment's speaker label. The app takes one before a
// rename, merge or reassignment so Undo can put it back with Restore.
type Snapshot struct {
	Speakers []transcript.Speaker `json:"speakers"`
	Segments []string             `json:"segments"`
}

// Take is t's Snapshot.
func Take(t transcript.Transcript) Snapshot {
	s := Snapshot{Speakers: slices.Clone(t.Speakers), Segments: make([]string, len(t.Segments))}
	for i, seg := range t.Segments {
		s.Segments[i] = seg.Speaker
	}
	return s
}

// Restore returns a copy of t in which the speakers and every segment's
// (and its words') speaker are snap's. Text and times stay as they are,
// so an undone rename keeps a text edit made after it. A snapshot with
// another number of segments, or a segment label that is not one of its
// speakers, is ErrStale.
func Restore(t transcript.Transcript, snap Snapshot) (transcript.Transcript, error) {
	if len(snap.Segments) != len(t.Segments) {
		return t, apperr.New(apperr.CodeBadInput, ErrStale, "the transcript changed since: it has %d segments, not %d as before (reopen it)", len(t.Segments), len(snap.Segments))
	}
	if len(snap.Speakers) == 0 {
		return t, fmt.Errorf("%w: %w", ErrStale, ErrNotDiarized)
	}
	labels := make(map[string]bool, len(snap.Speakers))
	for _, s := range snap.Speakers {
		if _, err := CleanLabel(s.Label); err != nil || s.ID == "" {
			return t, apperr.New(apperr.CodeBadInput, ErrStale, "the transcript changed since: speaker %q (%s) is not valid", s.Label, s.ID)
		}
		labels[s.Label] = true
	}
	out := t
	out.Speakers = slices.Clone(snap.Speakers)
	out.Segments = slices.Clone(t.Segments)
	for i, label := range snap.Segments {
		if !labels[label] {
			return t, apperr.New(apperr.CodeBadInput, ErrStale, "the transcript changed since: segment %d's speaker %q is not among the speakers", i+1, label)
		}
		seg := &out.Segments[i]
		seg.Speaker = label
		seg.Words = slices.Clone(seg.Words)
		for k := range seg.Words {
			seg.Words[k].Speaker = label
		}
	}
	return out, nil
}
