package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// overlayEditsPrefix is the settings key under which the app's first
// version kept a history entry's edits beside it, laid over the
// transcript when read: "transcript-edits:<id>" = {"<segment>": "text"}.
const overlayEditsPrefix = "transcript-edits:"

// moveOverlayEdits writes edits kept the old way into their transcripts
// (so search finds them, and every reader, the CLI's too, sees them) and
// forgets them. Open runs it: once done, it is one query that finds
// nothing. An edit whose entry or segment is gone, or a damaged record,
// has nothing to apply and is dropped; any other failure is returned,
// with the record kept for the next Open.
func (d *DB) moveOverlayEdits(ctx context.Context) error {
	old, err := d.SettingsWithPrefix(ctx, overlayEditsPrefix)
	if err != nil {
		return err
	}
	for _, key := range slices.Sorted(maps.Keys(old)) {
		id, err := strconv.ParseInt(strings.TrimPrefix(key, overlayEditsPrefix), 10, 64)
		var edits map[int]string
		if err == nil && json.Unmarshal([]byte(old[key]), &edits) == nil {
			for _, i := range slices.Sorted(maps.Keys(edits)) {
				if strings.TrimSpace(edits[i]) == "" {
					continue
				}
				err := d.EditSegment(ctx, id, i, edits[i])
				if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrNoSegment) {
					return err
				}
			}
		}
		if err := d.DeleteSetting(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

// ErrNoSegment is wrapped by an edit of a segment the transcript does not
// have.
var ErrNoSegment = errors.New("no such segment")

// EditSegment replaces the text of segment index of history entry id
// (whitespace folded) and the transcript's full text, in one transaction:
// search finds the new words and no longer the replaced ones, and the
// entry moves to the top of the history. Text equal to the current text
// changes nothing.
//
// A segment with word timestamps keeps one word per word of the new text,
// so subtitles and word clicks stay in step with what the user wrote: see
// retext.
func (d *DB) EditSegment(ctx context.Context, id int64, index int, text string) error {
	text = strings.Join(strings.Fields(text), " ")
	if text == "" {
		return errors.New("a segment cannot be empty")
	}
	return d.changeTranscript(ctx, id, func(t transcript.Transcript) (transcript.Transcript, error) {
		if index < 0 || index >= len(t.Segments) {
			return t, fmt.Errorf("history entry %d has %d segments, not a segment %d: %w", id, len(t.Segments), index+1, ErrNoSegment)
		}
		if t.Segments[index].Text == text {
			return t, errUnchanged
		}
		t.Segments[index] = retext(t.Segments[index], text)
		t.Text = transcript.FullText(t.Segments)
		return t, nil
	})
}

// retext gives seg the text and, when it has word timestamps, words that
// pair one to one with the text's words:
//   - the same number of words (a respelling): each keeps its times;
//   - otherwise the words the edit left alone at the start and at the end
//     keep theirs, and the words in between share out the time of the words
//     they replace (or the gap they were inserted into) in proportion to
//     length, as subtitles do for a segment without timestamps.
//
// A kept word keeps the model's spelling when it differs from the text's
// only in punctuation; otherwise it takes the text's. Words are matched
// ignoring case and punctuation.
func retext(seg transcript.Segment, text string) transcript.Segment {
	seg.Text = text
	old := seg.Words
	if len(old) == 0 {
		return seg
	}
	fields := strings.Fields(text)
	keep := func(w transcript.Word, field string) transcript.Word {
		if letters(w.Word) != letters(field) || letters(field) == "" {
			w.Word = field
		}
		return w
	}
	words := make([]transcript.Word, 0, len(fields))
	if len(fields) == len(old) {
		for i, w := range old {
			words = append(words, keep(w, fields[i]))
		}
		seg.Words = words
		return seg
	}
	same := func(w transcript.Word, field string) bool {
		a, b := letters(w.Word), letters(field)
		if a == "" && b == "" {
			return strings.TrimSpace(w.Word) == field
		}
		return strings.EqualFold(a, b)
	}
	p := 0 // words kept at the start
	for p < len(old) && p < len(fields) && same(old[p], fields[p]) {
		p++
	}
	s := 0 // words kept at the end
	for s < len(old)-p && s < len(fields)-p && same(old[len(old)-1-s], fields[len(fields)-1-s]) {
		s++
	}
	for i := range p {
		words = append(words, keep(old[i], fields[i]))
	}
	var from, to float64
	if p < len(old)-s { // words replaced: their time
		from, to = old[p].Start, old[len(old)-1-s].End
	} else { // words inserted: the gap between their neighbours
		from, to = seg.Start, seg.End
		if p > 0 {
			from = old[p-1].End
		}
		if s > 0 {
			to = old[len(old)-s].Start
		}
	}
	words = append(words, spread(fields[p:len(fields)-s], from, max(from, to))...)
	for i := range s {
		words = append(words, keep(old[len(old)-s+i], fields[len(fields)-s+i]))
	}
	for i := range words { // new words of a diarized segment: its speaker's
		if words[i].Speaker == "" {
			words[i].Speaker = seg.Speaker
		}
	}
	seg.Words = words
	return seg
}

// letters is w without what is not a letter or digit.
func letters(w string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, w)
}

// spread gives words consecutive spans over [from, to] in proportion to
// their length (plus one for the space).
func spread(fields []string, from, to float64) []transcript.Word {
	total := 0
	for _, f := range fields {
		total += utf8.RuneCountInString(f) + 1
	}
	out := make([]transcript.Word, 0, len(fields))
	at := 0
	for _, f := range fields {
		start := from + (to-from)*float64(at)/float64(total)
		at += utf8.RuneCountInString(f) + 1
		out = append(out, transcript.Word{Word: f, Start: start, End: from + (to-from)*float64(at)/float64(total)})
	}
	return out
}
