package store

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// errAny: the test wants an error, whichever.
var errAny = errors.New("any error")

func TestEditSegment(t *testing.T) {
	ctx := context.Background()
	d := open(t, t.TempDir())
	clock := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	d.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	put := func(plan string, segs ...transcript.Segment) int64 {
		t.Helper()
		tr := transcript.Transcript{Source: "/rec/" + plan + ".wav", Segments: segs, Text: transcript.FullText(segs)}
		id, err := d.PutTranscript(ctx, Entry{Plan: plan, Source: tr.Source}, tr)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	talk := put("talk",
		transcript.Segment{Start: 0, End: 2, Text: "The quarterly numbers look fine.", Words: []transcript.Word{}},
		transcript.Segment{Start: 2, End: 4, Text: "Revenue is up.", Words: []transcript.Word{
			{Word: "Revenue", Start: 2, End: 2.5}, {Word: "is", Start: 2.6, End: 2.8}, {Word: "up.", Start: 3, End: 3.5}}},
	)
	memo := put("memo", transcript.Segment{Start: 0, End: 1, Text: "buy milk"})

	tests := []struct {
		name    string
		id      int64
		index   int
		text    string
		wantErr error // nil: the edit is kept
		found   []string
		gone    []string
		want    string // the transcript's text afterwards
	}{
		{name: "a segment without words", id: talk, index: 0, text: "  The yearly   figures look great. ",
			found: []string{"yearly", "figures great"}, gone: []string{"quarterly", "numbers"},
			want: "The yearly figures look great. Revenue is up."},
		{name: "a segment with words", id: talk, index: 1, text: "Revenue is way up.",
			found: []string{"way"}, gone: []string{"quarterly"}, want: "The yearly figures look great. Revenue is way up."},
		{name: "accents fold as before", id: memo, index: 0, text: "buy café au lait",
			found: []string{"cafe"}, gone: []string{"milk"}, want: "buy café au lait"},
		{name: "the last segment", id: talk, index: 1, text: "Costs are down.", found: []string{"costs"}, gone: []string{"revenue"},
			want: "The yearly figures look great. Costs are down."},
		{name: "past the last segment", id: talk, index: 2, text: "x", wantErr: ErrNoSegment},
		{name: "a negative index", id: talk, index: -1, text: "x", wantErr: ErrNoSegment},
		{name: "an unknown entry", id: 999, index: 0, text: "x", wantErr: ErrNotFound},
		{name: "empty text", id: memo, index: 0, text: "  \n ", wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before Entry
			if tt.wantErr == nil {
				before, _, _ = d.Transcript(ctx, tt.id)
			}
			err := d.EditSegment(ctx, tt.id, tt.index, tt.text)
			if tt.wantErr != nil {
				if err == nil || (tt.wantErr != errAny && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range tt.found {
				if hits, err := d.Search(ctx, q, SearchOptions{}); err != nil || len(hits) != 1 || hits[0].ID != tt.id {
					t.Errorf("search %q: %+v, %v; want entry %d", q, hits, err, tt.id)
				}
			}
			for _, q := range tt.gone {
				if hits, _ := d.Search(ctx, q, SearchOptions{}); len(hits) != 0 {
					t.Errorf("search %q still finds %+v", q, hits)
				}
			}
			e, tr, err := d.Transcript(ctx, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Text != tt.want || e.Preview != tt.want {
				t.Errorf("text %q, preview %q, want %q", tr.Text, e.Preview, tt.want)
			}
			if !e.UpdatedAt.After(before.UpdatedAt) || !e.CreatedAt.Equal(before.CreatedAt) {
				t.Errorf("updated %v (was %v), created %v (was %v)", e.UpdatedAt, before.UpdatedAt, e.CreatedAt, before.CreatedAt)
			}
			if hist, _ := d.History(ctx, 1, 0); hist[0].ID != tt.id {
				t.Errorf("the edited entry is not the most recent: %+v", hist[0])
			}
		})
	}

	// The same text again writes nothing.
	e, _, _ := d.Transcript(ctx, talk)
	if err := d.EditSegment(ctx, talk, 1, "Costs  are down."); err != nil {
		t.Fatal(err)
	}
	if again, _, _ := d.Transcript(ctx, talk); !again.UpdatedAt.Equal(e.UpdatedAt) {
		t.Errorf("an edit that changes nothing moved the entry: %v, was %v", again.UpdatedAt, e.UpdatedAt)
	}
}

func TestRetext(t *testing.T) {
	w := func(s string, start, end float64) transcript.Word {
		return transcript.Word{Word: s, Start: start, End: end}
	}
	seg := transcript.Segment{Start: 1, End: 5, Text: "the cat sat down", Words: []transcript.Word{
		w("the", 1, 1.5), w("cat", 1.6, 2), w("sat", 2.4, 3), w("down", 3.2, 4)}}
	tests := []struct {
		name string
		seg  transcript.Segment
		text string
		want []transcript.Word
	}{
		{"no words stay none", transcript.Segment{Start: 0, End: 1, Text: "a"}, "b c", nil},
		{"a respelling keeps every time; the case is the text's, punctuation the model's", seg, "The bat sat down.",
			[]transcript.Word{w("The", 1, 1.5), w("bat", 1.6, 2), w("sat", 2.4, 3), w("down", 3.2, 4)}},
		{"one word for two takes their span", seg, "the dog down",
			[]transcript.Word{w("the", 1, 1.5), w("dog", 1.6, 3), w("down", 3.2, 4)}},
		{"two words for one share its span by length", seg, "the black kitten sat down",
			[]transcript.Word{w("the", 1, 1.5), w("black", 1.6, 1.6+0.4*6/13), w("kitten", 1.6+0.4*6/13, 2), w("sat", 2.4, 3), w("down", 3.2, 4)}},
		{"a word inserted before another fills the gap", seg, "the big cat sat down",
			[]transcript.Word{w("the", 1, 1.5), w("big", 1.5, 1.6), w("cat", 1.6, 2), w("sat", 2.4, 3), w("down", 3.2, 4)}},
		{"a word inserted between two fills the gap", seg, "the cat quietly sat down",
			[]transcript.Word{w("the", 1, 1.5), w("cat", 1.6, 2), w("quietly", 2, 2.4), w("sat", 2.4, 3), w("down", 3.2, 4)}},
		{"words added at the end run to the segment's end", seg, "the cat sat down here",
			[]transcript.Word{w("the", 1, 1.5), w("cat", 1.6, 2), w("sat", 2.4, 3), w("down", 3.2, 4), w("here", 4, 5)}},
		{"words added at the start begin at the segment's start", seg, "so the cat sat down",
			[]transcript.Word{w("so", 1, 1), w("the", 1, 1.5), w("cat", 1.6, 2), w("sat", 2.4, 3), w("down", 3.2, 4)}},
		{"a word removed", seg, "the cat down.",
			[]transcript.Word{w("the", 1, 1.5), w("cat", 1.6, 2), w("down", 3.2, 4)}},
		{"everything new spans all the words", seg, "hello",
			[]transcript.Word{w("hello", 1, 4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := retext(tt.seg, tt.text)
			if got.Text != tt.text || got.Start != tt.seg.Start || got.End != tt.seg.End {
				t.Errorf("segment %+v", got)
			}
			if len(got.Words) != len(tt.want) {
				t.Fatalf("words %+v, want %+v", got.Words, tt.want)
			}
			for i := range got.Words {
				g, x := got.Words[i], tt.want[i]
				if g.Word != x.Word || math.Abs(g.Start-x.Start) > 1e-9 || math.Abs(g.End-x.End) > 1e-9 {
					t.Errorf("word %d: %+v, want %+v", i, g, x)
				}
			}
		})
	}
	// The input's words are not changed in place.
	if !reflect.DeepEqual(seg.Words[1], w("cat", 1.6, 2)) {
		t.Errorf("retext changed its input: %+v", seg.Words)
	}
}

func TestSettingsWithPrefixAndDelete(t *testing.T) {
	ctx := context.Background()
	d := open(t, t.TempDir())
	for k, v := range map[string]string{"edits:1": "a", "edits:22": "b", "editsX": "c", "other": "d", "%edits:": "e"} {
		if err := d.SetSetting(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.SettingsWithPrefix(ctx, "edits:")
	if err != nil || !reflect.DeepEqual(got, map[string]string{"edits:1": "a", "edits:22": "b"}) {
		t.Fatalf("prefixed %v, %v", got, err)
	}
	if got, _ := d.SettingsWithPrefix(ctx, "nothing:"); len(got) != 0 {
		t.Errorf("no match: %v", got)
	}
	if err := d.DeleteSetting(ctx, "edits:1"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteSetting(ctx, "edits:1"); err != nil {
		t.Errorf("deleting an unset setting: %v", err)
	}
	if _, ok, _ := d.Setting(ctx, "edits:1"); ok {
		t.Error("the setting is still there")
	}
}

// Edits the app's first version kept in the settings table are moved into
// the transcripts when the database opens, and then forgotten.
func TestOverlayEditsAreMovedAtOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := open(t, dir)
	put := func(src string, texts ...string) int64 {
		t.Helper()
		var segs []transcript.Segment
		for i, text := range texts {
			segs = append(segs, transcript.Segment{Start: float64(i), End: float64(i) + 1, Text: text})
		}
		id, err := d.PutTranscript(ctx, Entry{Plan: "plan " + src, Source: src}, transcript.Transcript{Source: src, Segments: segs, Text: transcript.FullText(segs)})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	talk := put("/a/talk.wav", "the quarterly numbers", "look fine", "thanks")
	memo := put("/a/memo.wav", "buy milk")
	key := func(id int64) string { return overlayEditsPrefix + strconv.FormatInt(id, 10) }
	for k, v := range map[string]string{
		key(talk):     `{"0":"the yearly  figures","1":"look great","7":"a segment that is gone"}`,
		key(memo):     `{"0":"buy oat milk"}`,
		key(999):      `{"0":"an entry that is gone"}`,
		key(memo + 1): `not json`,
	} {
		if err := d.SetSetting(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()

	d = open(t, dir)
	for _, tt := range []struct {
		query string
		want  int64 // 0: no match
	}{
		{"yearly figures", talk},
		{"great", talk},
		{"quarterly", 0},
		{"oat", memo},
	} {
		hits, err := d.Search(ctx, tt.query, SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if (tt.want == 0 && len(hits) != 0) || (tt.want != 0 && (len(hits) != 1 || hits[0].ID != tt.want)) {
			t.Errorf("search %q: %+v, want entry %d", tt.query, hits, tt.want)
		}
	}
	if left, _ := d.SettingsWithPrefix(ctx, overlayEditsPrefix); len(left) != 0 {
		t.Errorf("old edits left: %v", left)
	}
	if _, tr, err := d.Transcript(ctx, talk); err != nil || tr.Text != "the yearly figures look great thanks" {
		t.Errorf("reopened: %q, %v", tr.Text, err)
	}
}
