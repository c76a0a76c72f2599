package diarize_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

func w(word string, start, end float64) transcript.Word {
	return transcript.Word{Word: word, Start: start, End: end}
}

func sw(word string, start, end float64, speaker string) transcript.Word {
	return transcript.Word{Word: word, Start: start, End: end, Speaker: speaker}
}

func speakers(n int, secs ...float64) []transcript.Speaker {
	out := make([]transcript.Speaker, n)
	for i := range out {
		out[i] = transcript.Speaker{ID: "S" + string(rune('1'+i)), Label: "Speaker " + string(rune('1'+i))}
		if i < len(secs) {
			out[i].Seconds = secs[i]
		}
	}
	return out
}

// Turns: Speaker 1 0–2, Speaker 2 2–5, nobody 5–6, Speaker 1 6–8.
var threeTurns = diarize.Result{
	Turns:    []diarize.Turn{{Start: 0, End: 2, Speaker: 0}, {Start: 2, End: 5, Speaker: 1}, {Start: 6, End: 8, Speaker: 0}},
	Speakers: speakers(2, 4, 3),
}

func TestAttribute(t *testing.T) {
	cases := []struct {
		name string
		in   []transcript.Segment
		want []transcript.Segment
	}{
		{
			name: "split where the speaker changes, a straddling word goes where it overlaps most",
			in: []transcript.Segment{{Start: 0, End: 4.5, Text: "Hello there, how are you?", Words: []transcript.Word{
				w("Hello", 0.1, 0.5), w("there,", 0.6, 1.0), w("how", 1.9, 2.4), w("are", 2.5, 2.8), w("you?", 2.9, 3.2)}}},
			want: []transcript.Segment{
				{Start: 0, End: 1.0, Text: "Hello there,", Speaker: "Speaker 1", Words: []transcript.Word{
					sw("Hello", 0.1, 0.5, "Speaker 1"), sw("there,", 0.6, 1.0, "Speaker 1")}},
				{Start: 1.9, End: 4.5, Text: "how are you?", Speaker: "Speaker 2", Words: []transcript.Word{
					sw("how", 1.9, 2.4, "Speaker 2"), sw("are", 2.5, 2.8, "Speaker 2"), sw("you?", 2.9, 3.2, "Speaker 2")}},
			},
		},
		{
			name: "one speaker keeps the segment whole, a word leaning into the next turn included",
			in: []transcript.Segment{{Start: 4.6, End: 7, Text: "Fine  thanks.", Words: []transcript.Word{
				w("Fine", 4.8, 5.1), w("thanks.", 5.9, 6.6)}}},
			want: []transcript.Segment{{Start: 4.6, End: 7, Text: "Fine  thanks.", Speaker: "", Words: nil}},
		},
		{
			name: "words in a gap or past the end borrow the nearest turn",
			in: []transcript.Segment{{Start: 5, End: 9.5, Text: "a b c", Words: []transcript.Word{
				w("a", 5.1, 5.3), w("b", 5.8, 5.9), w("c", 9, 9.5)}}},
			want: []transcript.Segment{
				{Start: 5, End: 5.3, Text: "a", Speaker: "Speaker 2", Words: []transcript.Word{sw("a", 5.1, 5.3, "Speaker 2")}},
				{Start: 5.8, End: 9.5, Text: "b c", Speaker: "Speaker 1", Words: []transcript.Word{
					sw("b", 5.8, 5.9, "Speaker 1"), sw("c", 9, 9.5, "Speaker 1")}},
			},
		},
		{
			name: "zero-length words and a word before the first turn",
			in: []transcript.Segment{{Start: -1, End: 2.5, Text: "x y z", Words: []transcript.Word{
				w("x", -1, -0.5), w("y", 2, 2), w("z", 1.99, 1.99)}}},
			want: []transcript.Segment{
				{Start: -1, End: -0.5, Text: "x", Speaker: "Speaker 1", Words: []transcript.Word{sw("x", -1, -0.5, "Speaker 1")}},
				{Start: 2, End: 2, Text: "y", Speaker: "Speaker 2", Words: []transcript.Word{sw("y", 2, 2, "Speaker 2")}},
				{Start: 1.99, End: 2.5, Text: "z", Speaker: "Speaker 1", Words: []transcript.Word{sw("z", 1.99, 1.99, "Speaker 1")}},
			},
		},
		{
			name: "text with other fields than words is rebuilt from the words",
			in: []transcript.Segment{{Start: 1, End: 3, Text: "one two three", Words: []transcript.Word{
				w("one", 1, 1.5), w("two-three", 2.2, 2.8)}}},
			want: []transcript.Segment{
				{Start: 1, End: 1.5, Text: "one", Speaker: "Speaker 1", Words: []transcript.Word{sw("one", 1, 1.5, "Speaker 1")}},
				{Start: 2.2, End: 3, Text: "two-three", Speaker: "Speaker 2", Words: []transcript.Word{sw("two-three", 2.2, 2.8, "Speaker 2")}},
			},
		},
		{
			name: "a segment without words takes the speaker of its span",
			in:   []transcript.Segment{{Start: 2.5, End: 6.5, Text: "[music]", Words: []transcript.Word{}}},
			want: []transcript.Segment{{Start: 2.5, End: 6.5, Text: "[music]", Speaker: "Speaker 2", Words: []transcript.Word{}}},
		},
	}
	// The whole-segment case: fill in its words.
	cases[1].want[0].Speaker = "Speaker 1"
	cases[1].want[0].Words = []transcript.Word{sw("Fine", 4.8, 5.1, "Speaker 2"), sw("thanks.", 5.9, 6.6, "Speaker 1")}
	cases[1].want = []transcript.Segment{
		{Start: 4.6, End: 5.1, Text: "Fine", Speaker: "Speaker 2", Words: []transcript.Word{sw("Fine", 4.8, 5.1, "Speaker 2")}},
		{Start: 5.9, End: 7, Text: "thanks.", Speaker: "Speaker 1", Words: []transcript.Word{sw("thanks.", 5.9, 6.6, "Speaker 1")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := transcript.Transcript{Source: "a.wav", Model: "m", Text: "t", Segments: c.in}
			keep := deepCopy(t, in)
			got := diarize.Attribute(in, threeTurns)
			if !reflect.DeepEqual(got.Segments, c.want) {
				t.Errorf("segments\n got %+v\nwant %+v", got.Segments, c.want)
			}
			if !reflect.DeepEqual(got.Speakers, threeTurns.Speakers) {
				t.Errorf("speakers %+v", got.Speakers)
			}
			if got.Source != "a.wav" || got.Model != "m" || got.Text != "t" {
				t.Errorf("other fields changed: %+v", got)
			}
			if !reflect.DeepEqual(in, keep) {
				t.Error("Attribute modified its input")
			}
		})
	}
}

func TestAttributeOneSpeakerKeepsSegment(t *testing.T) {
	in := transcript.Transcript{Segments: []transcript.Segment{{Start: 0.2, End: 1.9, Text: "Hello  world", Words: []transcript.Word{
		w("Hello", 0.2, 0.6), w("world", 0.8, 1.9)}}}}
	got := diarize.Attribute(in, threeTurns)
	want := []transcript.Segment{{Start: 0.2, End: 1.9, Text: "Hello  world", Speaker: "Speaker 1", Words: []transcript.Word{
		sw("Hello", 0.2, 0.6, "Speaker 1"), sw("world", 0.8, 1.9, "Speaker 1")}}}
	if !reflect.DeepEqual(got.Segments, want) {
		t.Errorf("got %+v", got.Segments)
	}
}

// With no embeddings at all (silence, or a speaker model that returned
// nothing), every word is Speaker 1.
func TestAttributeNoTurns(t *testing.T) {
	r, err := diarize.Cluster(nil, diarize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := transcript.Transcript{Segments: []transcript.Segment{
		{Start: 0, End: 1, Text: "a", Words: []transcript.Word{w("a", 0, 1)}},
		{Start: 2, End: 4, Text: "b"},
	}}
	got := diarize.Attribute(in, r)
	if want := speakers(1, 3); !reflect.DeepEqual(got.Speakers, want) {
		t.Errorf("speakers %+v, want %+v", got.Speakers, want)
	}
	for _, s := range got.Segments {
		if s.Speaker != "Speaker 1" {
			t.Errorf("segment %+v", s)
		}
		for _, w := range s.Words {
			if w.Speaker != "Speaker 1" {
				t.Errorf("word %+v", w)
			}
		}
	}
}

// End to end from embeddings: an unknown window inside a turn borrows the
// speaker around it (and counts in its seconds), and a word across the
// change goes to the speaker of most of it.
func TestAttributeFromCluster(t *testing.T) {
	a, b := vec(4, 0), vec(4, 1)
	zero := make([]float32, 4)
	var embs []diarize.Embedding
	for i, v := range [][]float32{a, a, a, zero, a, b, b, zero, b, b, a, a} {
		embs = append(embs, diarize.Embedding{Start: float64(i), End: float64(i + 1), Vector: v})
	}
	r, err := diarize.Cluster(embs, diarize.Options{Speakers: 2})
	if err != nil {
		t.Fatal(err)
	}
	in := transcript.Transcript{Segments: []transcript.Segment{{Start: 0, End: 12, Text: "p q r s t u", Words: []transcript.Word{
		w("p", 0.5, 1), w("q", 3.2, 3.8), w("r", 4.8, 5.6), w("s", 7.1, 7.4), w("t", 9.5, 10.2), w("u", 11, 11.5)}}}}
	got := diarize.Attribute(in, r)
	var labels []string
	for _, s := range got.Segments {
		labels = append(labels, s.Speaker+": "+s.Text)
	}
	want := []string{"Speaker 1: p q", "Speaker 2: r s t", "Speaker 1: u"}
	if !reflect.DeepEqual(labels, want) {
		t.Errorf("segments %q, want %q", labels, want)
	}
	if want := speakers(2, 7, 5); !reflect.DeepEqual(got.Speakers, want) {
		t.Errorf("speakers %+v, want %+v", got.Speakers, want)
	}
}

// Without diarization the JSON form has no speaker keys at all, so every
// existing export stays byte-identical; with it, words, segments and the
// top level carry them.
func TestSpeakerJSON(t *testing.T) {
	in := transcript.Transcript{Source: "a", Segments: []transcript.Segment{{Start: 0, End: 1, Text: "hi", Words: []transcript.Word{w("hi", 0, 1)}}}}
	plain, _ := json.Marshal(in)
	if strings.Contains(string(plain), "speaker") {
		t.Errorf("undiarized JSON mentions speakers: %s", plain)
	}
	if want := `{"source":"a","sha256":"","duration":0,"model":"","text":"","segments":[{"start":0,"end":1,"text":"hi","words":[{"word":"hi","start":0,"end":1}]}]}`; string(plain) != want {
		t.Errorf("JSON\n got %s\nwant %s", plain, want)
	}
	got, _ := json.Marshal(diarize.Attribute(in, threeTurns))
	for _, want := range []string{
		`"words":[{"word":"hi","start":0,"end":1,"speaker":"Speaker 1"}],"speaker":"Speaker 1"}`,
		`"speakers":[{"id":"S1","label":"Speaker 1","seconds":4},{"id":"S2","label":"Speaker 2","seconds":3}]`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("diarized JSON %s lacks %s", got, want)
		}
	}
}

func deepCopy(t *testing.T, in transcript.Transcript) transcript.Transcript {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out transcript.Transcript
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// wordsEvery makes a transcript of one word every step seconds, ten words
// a segment.
func wordsEvery(seconds, step float64) transcript.Transcript {
	var t transcript.Transcript
	var seg transcript.Segment
	for i := 0; float64(i)*step < seconds; i++ {
		s := float64(i) * step
		seg.Words = append(seg.Words, transcript.Word{Word: "w", Start: s, End: s + step*0.8})
		if len(seg.Words) == 10 {
			seg.Start, seg.End = seg.Words[0].Start, seg.Words[9].End
			seg.Text = "w w w w w w w w w w"
			t.Segments = append(t.Segments, seg)
			seg = transcript.Segment{}
		}
	}
	return t
}
