package speakers

import (
	"errors"
	"reflect"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

func word(w, who string) transcript.Word { return transcript.Word{Word: w, Speaker: who} }

// meeting: Speaker 1, Speaker 2, Speaker 1, Speaker 3.
func meeting() transcript.Transcript {
	return transcript.Transcript{
		Text: "Hi. Hello. How are you? Fine.",
		Segments: []transcript.Segment{
			{Start: 0, End: 1, Text: "Hi.", Speaker: "Speaker 1", Words: []transcript.Word{word("Hi.", "Speaker 1")}},
			{Start: 1, End: 2, Text: "Hello.", Speaker: "Speaker 2", Words: []transcript.Word{word("Hello.", "Speaker 2")}},
			{Start: 2, End: 3, Text: "How are you?", Speaker: "Speaker 1", Words: []transcript.Word{
				word("How", "Speaker 1"), word("are", "Speaker 1"), word("you?", "Speaker 1")}},
			{Start: 3, End: 4, Text: "Fine.", Speaker: "Speaker 3"}, // no word timestamps
		},
		Speakers: []transcript.Speaker{{ID: "S1", Label: "Speaker 1", Seconds: 2}, {ID: "S2", Label: "Speaker 2", Seconds: 1}, {ID: "S3", Label: "Speaker 3", Seconds: 1}},
	}
}

// who lists the speaker of every segment and every word, in order.
func who(t transcript.Transcript) []string {
	var out []string
	for _, s := range t.Segments {
		out = append(out, s.Speaker)
		for _, w := range s.Words {
			out = append(out, "  "+w.Speaker)
		}
	}
	return out
}

func TestRename(t *testing.T) {
	tests := []struct {
		name       string
		old, label string
		wantErr    error
		speakers   []transcript.Speaker
		who        []string
	}{
		{name: "by label", old: "Speaker 2", label: "Ana",
			speakers: []transcript.Speaker{sp("S1", "Speaker 1", 2), sp("S2", "Ana", 1), sp("S3", "Speaker 3", 1)},
			who:      []string{"Speaker 1", "  Speaker 1", "Ana", "  Ana", "Speaker 1", "  Speaker 1", "  Speaker 1", "  Speaker 1", "Speaker 3"}},
		{name: "by id, name folded", old: "s1", label: "  Dr.  Bea\nLewis ",
			speakers: []transcript.Speaker{sp("S1", "Dr. Bea Lewis", 2), sp("S2", "Speaker 2", 1), sp("S3", "Speaker 3", 1)},
			who:      []string{"Dr. Bea Lewis", "  Dr. Bea Lewis", "Speaker 2", "  Speaker 2", "Dr. Bea Lewis", "  Dr. Bea Lewis", "  Dr. Bea Lewis", "  Dr. Bea Lewis", "Speaker 3"}},
		{name: "a segment without words", old: "Speaker 3", label: "Cy",
			speakers: []transcript.Speaker{sp("S1", "Speaker 1", 2), sp("S2", "Speaker 2", 1), sp("S3", "Cy", 1)},
			who:      []string{"Speaker 1", "  Speaker 1", "Speaker 2", "  Speaker 2", "Speaker 1", "  Speaker 1", "  Speaker 1", "  Speaker 1", "Cy"}},
		{name: "case and spaces of the old name", old: " speaker   3 ", label: "Cy",
			speakers: []transcript.Speaker{sp("S1", "Speaker 1", 2), sp("S2", "Speaker 2", 1), sp("S3", "Cy", 1)},
			who:      []string{"Speaker 1", "  Speaker 1", "Speaker 2", "  Speaker 2", "Speaker 1", "  Speaker 1", "  Speaker 1", "  Speaker 1", "Cy"}},
		{name: "to its own name: nothing changes", old: "S2", label: "Speaker 2",
			speakers: meeting().Speakers, who: who(meeting())},
		{name: "unknown", old: "Speaker 9", label: "X", wantErr: ErrUnknownSpeaker},
		{name: "another speaker's name", old: "Speaker 1", label: "Speaker 2", wantErr: ErrLabelTaken},
		{name: "another speaker's name in other case", old: "Speaker 1", label: "SPEAKER  2", wantErr: ErrLabelTaken},
		{name: "its own name in other case", old: "Speaker 2", label: "speaker 2",
			speakers: []transcript.Speaker{sp("S1", "Speaker 1", 2), sp("S2", "speaker 2", 1), sp("S3", "Speaker 3", 1)},
			who:      []string{"Speaker 1", "  Speaker 1", "speaker 2", "  speaker 2", "Speaker 1", "  Speaker 1", "  Speaker 1", "  Speaker 1", "Speaker 3"}},
		{name: "empty", old: "Speaker 1", label: " \n", wantErr: ErrBadLabel},
		{name: "too long", old: "Speaker 1", label: "Professor Doctor Maximiliana von Hohenzollern-Sigmaringen", wantErr: ErrBadLabel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := meeting()
			got, err := Rename(in, tt.old, tt.label)
			if !reflect.DeepEqual(in, meeting()) {
				t.Fatal("Rename modified its input")
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Speakers, tt.speakers) {
				t.Errorf("speakers %+v, want %+v", got.Speakers, tt.speakers)
			}
			if w := who(got); !reflect.DeepEqual(w, tt.who) {
				t.Errorf("who %q, want %q", w, tt.who)
			}
			if got.Text != in.Text || len(got.Segments) != len(in.Segments) {
				t.Errorf("text or segments changed: %+v", got)
			}
		})
	}
	if _, err := Rename(transcript.Transcript{Segments: meeting().Segments}, "Speaker 1", "Ana"); !errors.Is(err, ErrNotDiarized) {
		t.Errorf("not diarized: err = %v", err)
	}
	if _, err := Rename(meeting(), "Nobody", "X"); err == nil || err.Error() != `no such speaker "Nobody" (the speakers are Speaker 1 (S1), Speaker 2 (S2), Speaker 3 (S3))` {
		t.Errorf("unknown speaker message: %v", err)
	}
}

func TestFindPrefersLabelsOverIDs(t *testing.T) {
	tr := transcript.Transcript{Speakers: []transcript.Speaker{{ID: "S1", Label: "S2"}, {ID: "S2", Label: "Bo"}, {ID: "S3", Label: "bo"}}}
	tests := []struct {
		name string
		want int
	}{
		{"S2", 0},  // a label before an id
		{"s2", 1},  // no label is exactly "s2": the id
		{"Bo", 1},  // exact label
		{"bo", 2},  // exact label
		{"BO", -1}, // two labels match ignoring case: ambiguous
	}
	for _, tt := range tests {
		got, err := Find(tr, tt.name)
		if got != tt.want || (tt.want < 0) != (err != nil) {
			t.Errorf("Find(%q) = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name       string
		into, from string
		wantErr    error
		speakers   []transcript.Speaker
		who        []string
	}{
		{name: "a later speaker into an earlier one", into: "Speaker 1", from: "Speaker 2",
			speakers: []transcript.Speaker{sp("S1", "Speaker 1", 3), sp("S3", "Speaker 3", 1)},
			who:      []string{"Speaker 1", "  Speaker 1", "Speaker 1", "  Speaker 1", "Speaker 1", "  Speaker 1", "  Speaker 1", "  Speaker 1", "Speaker 3"}},
		{name: "an earlier speaker into a later one takes its place", into: "S3", from: "S1",
			speakers: []transcript.Speaker{sp("S3", "Speaker 3", 3), sp("S2", "Speaker 2", 1)},
			who:      []string{"Speaker 3", "  Speaker 3", "Speaker 2", "  Speaker 2", "Speaker 3", "  Speaker 3", "  Speaker 3", "  Speaker 3", "Speaker 3"}},
		{name: "into itself", into: "Speaker 2", from: "s2", wantErr: errAny},
		{name: "unknown into", into: "X", from: "S2", wantErr: ErrUnknownSpeaker},
		{name: "unknown from", into: "S2", from: "X", wantErr: ErrUnknownSpeaker},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := meeting()
			got, err := Merge(in, tt.into, tt.from)
			if !reflect.DeepEqual(in, meeting()) {
				t.Fatal("Merge modified its input")
			}
			if tt.wantErr != nil {
				if err == nil || (tt.wantErr != errAny && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Speakers, tt.speakers) {
				t.Errorf("speakers %+v, want %+v", got.Speakers, tt.speakers)
			}
			if w := who(got); !reflect.DeepEqual(w, tt.who) {
				t.Errorf("who %q, want %q", w, tt.who)
			}
			// Segments are not joined.
			if len(got.Segments) != len(in.Segments) || got.Text != in.Text {
				t.Errorf("segments or text changed: %+v", got.Segments)
			}
		})
	}
}

var errAny = errors.New("any error")

func sp(id, label string, secs float64) transcript.Speaker {
	return transcript.Speaker{ID: id, Label: label, Seconds: secs}
}
