// Package speakers changes who said what in a diarized transcript: rename
// a speaker once for the whole transcript, or merge two speakers into one.
// The functions are pure; backend/store applies them to the history in
// one transaction, and the CLI and the app call the store.
package speakers

import (
	"errors"
	"fmt"
	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// MaxLabelRunes is the longest speaker label: long enough for a full name
// with a role, short enough to lead a subtitle line.
const MaxLabelRunes = 40

var (
	// ErrNotDiarized: the transcript has no speakers to change.
	ErrNotDiarized = errors.New("the transcript has no speakers (it was not diarized)")
	// ErrUnknownSpeaker is wrapped when a speaker named by label or id is
	// not in the transcript.
	ErrUnknownSpeaker = errors.New("no such speaker")
	// ErrLabelTaken is wrapped when a rename would give two speakers the
	// same label (merge them instead).
	ErrLabelTaken = errors.New("another speaker has that name")
	// ErrBadLabel is wrapped for an empty or too long label.
	ErrBadLabel = errors.New("invalid speaker name")
)

// Find returns the index in t.Speakers of the speaker called name: the
// one with that label, else the one with that id ("S2"), else the one
// whose label matches ignoring case and extra spaces when only one does.
// Labels come first because they are what users see; ids stay fixed, so
// scripts can use them after a rename.
func Find(t transcript.Transcript, name string) (int, error) {
	if len(t.Speakers) == 0 {
		return -1, ErrNotDiarized
	}
	name = strings.TrimSpace(name)
	if i := slices.IndexFunc(t.Speakers, func(s transcript.Speaker) bool { return s.Label == name }); i >= 0 {
		return i, nil
	}
	if i := slices.IndexFunc(t.Speakers, func(s transcript.Speaker) bool { return strings.EqualFold(s.ID, name) }); i >= 0 {
		return i, nil
	}
	found := -1
	for i, s := range t.Speakers {
		if strings.EqualFold(fold(s.Label), fold(name)) {
			if found >= 0 {
				found = -2 // ambiguous
				break
			}
			found = i
		}
	}
	if found >= 0 {
		return found, nil
	}
	return -1, apperr.New(apperr.CodeBadInput, ErrUnknownSpeaker, "no such speaker %q (the speakers are %s)", name, List(t))
}

// List names t's speakers for a message: "Speaker 1 (S1), Ana (S2)".
func List(t transcript.Transcript) string {
	names := make([]string, 0, len(t.Speakers))
	for _, s := range t.Speakers {
		names = append(names, fmt.Sprintf("%s (%s)", s.Label, s.ID))
	}
	return strings.Join(names, ", ")
}

// CleanLabel is label as it is stored: white space (line breaks included)
// folded to single spaces. It is an error when nothing is left or more
// than MaxLabelRunes are.
func CleanLabel(label string) (string, error) {
	l := fold(label)
	switch n := utf8.RuneCountInString(l); {
	case n == 0:
		return "", apperr.New(apperr.CodeBadInput, ErrBadLabel, "invalid speaker name: a speaker's name cannot be empty")
	case n > MaxLabelRunes:
		return "", apperr.New(apperr.CodeBadInput, ErrBadLabel, "invalid speaker name: %q is longer than %d characters", l, MaxLabelRunes)
	}
	return l, nil
}

func fold(s string) string { return strings.Join(strings.Fields(s), " ") }

// Rename returns a copy of t in which the speaker old (see Find) is
// called label: in the speakers list, on every segment and on every word.
// Ids, times, text and segments stay as they are. Renaming a speaker to
// its own label returns t unchanged; a label another speaker has (ignoring
// case) is ErrLabelTaken.
func Rename(t transcript.Transcript, old, label string) (transcript.Transcript, error) {
	i, err := Find(t, old)
	if err != nil {
		return t, err
	}
	label, err = CleanLabel(label)
	if err != nil {
		return t, err
	}
	from := t.Speakers[i].Label
	if from == label {
		return t, nil
	}
	taken := func(s transcript.Speaker) bool {
		return s.ID != t.Speakers[i].ID && strings.EqualFold(fold(s.Label), label)
	}
	if j := slices.IndexFunc(t.Speakers, taken); j >= 0 {
		return t, apperr.New(apperr.CodeBadInput, ErrLabelTaken, "another speaker has that name: %q is %s already (merge the two speakers to make them one)", label, t.Speakers[j].ID)
	}
	out := relabel(t, from, label)
	out.Speakers[i].Label = label
	return out, nil
}

// Merge returns a copy of t in which speaker from becomes speaker into
// (both found by Find): from's segments and words carry into's label,
// into's seconds grow by from's, and from leaves the speakers list. The
// list stays in order of first appearance, so into takes from's place
// when from spoke first. Segments are not joined: each keeps its times
// and its place (an index the app may hold), and the text formats print
// a speaker's label only where the speaker changes, so two segments of
// one speaker in a row read as one turn anyway. Merging a speaker into
// itself is an error.
func Merge(t transcript.Transcript, into, from string) (transcript.Transcript, error) {
	a, err := Find(t, into)
	if err != nil {
		return t, err
	}
	b, err := Find(t, from)
	if err != nil {
		return t, err
	}
	if a == b {
		return t, apperr.New(apperr.CodeBadInput, nil, "%q and %q are the same speaker (%s)", into, from, t.Speakers[a].ID)
	}
	out := relabel(t, t.Speakers[b].Label, t.Speakers[a].Label)
	merged := out.Speakers[a]
	merged.Seconds += out.Speakers[b].Seconds
	out.Speakers[min(a, b)] = merged
	out.Speakers = slices.Delete(out.Speakers, max(a, b), max(a, b)+1)
	return out, nil
}

// relabel is a deep copy of t with every segment and word labelled from
// labelled to.
func relabel(t transcript.Transcript, from, to string) transcript.Transcript {
	out := t
	out.Speakers = slices.Clone(t.Speakers)
	out.Segments = slices.Clone(t.Segments)
	for i := range out.Segments {
		s := &out.Segments[i]
		if s.Speaker == from {
			s.Speaker = to
		}
		if s.Words == nil {
			continue
		}
		s.Words = slices.Clone(s.Words)
		for j := range s.Words {
			if s.Words[j].Speaker == from {
				s.Words[j].Speaker = to
			}
		}
	}
	return out
}
