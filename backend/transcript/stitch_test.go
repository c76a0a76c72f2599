package transcript

import (
	"reflect"
	"testing"
)

func w(word string, start, end float64) Word { return Word{Word: word, Start: start, End: end} }

func TestParseChunk(t *testing.T) {
	r, err := ParseChunk("  1  2 ", []byte(`{"words":[{"word":"1","start":0.5,"end":0.6},{"word":"2","start":1,"end":1.2}],"segments":[{"text":"1 2","start":0.5,"end":1.2}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := ChunkResult{Text: "1 2", Words: []Word{w("1", 0.5, 0.6), w("2", 1, 1.2)}, Segments: []Segment{{Start: 0.5, End: 1.2, Text: "1 2"}}}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("got %+v\nwant %+v", r, want)
	}
	if r, err := ParseChunk("hello", nil); err != nil || r.Text != "hello" || r.Words != nil {
		t.Fatalf("no timestamps: %+v, %v", r, err)
	}
	for _, bad := range []string{`{`, `{"words":[{"word":"x","start":-1,"end":0}]}`, `[1]`} {
		if _, err := ParseChunk("x", []byte(bad)); err == nil {
			t.Errorf("ParseChunk accepted %s", bad)
		}
	}
}

func TestStitch(t *testing.T) {
	tests := []struct {
		name   string
		pieces []Piece
		want   []Segment
	}{
		{
			name: "offsets make times absolute",
			pieces: []Piece{
				{Offset: 0, Duration: 30, Result: ChunkResult{Text: "1", Words: []Word{w("1", 1, 1.1)}, Segments: []Segment{{Start: 1, End: 1.1, Text: "1"}}}},
				{Offset: 30, Duration: 10, Result: ChunkResult{Text: "2", Words: []Word{w("2", 5, 5.1)}, Segments: []Segment{{Start: 5, End: 5.1, Text: "2"}}}},
			},
			want: []Segment{
				{Start: 1, End: 1.1, Text: "1", Words: []Word{w("1", 1, 1.1)}},
				{Start: 35, End: 35.1, Text: "2", Words: []Word{w("2", 35, 35.1)}},
			},
		},
		{
			name: "a segment split by the cut is joined",
			pieces: []Piece{
				{Offset: 0, Duration: 28.4, Result: ChunkResult{Text: "a b", Words: []Word{w("a", 27, 27.2), w("b", 27.9, 28.2)}, Segments: []Segment{{Start: 27, End: 28.2, Text: "a b"}}}},
				{Offset: 28.4, Duration: 30, Result: ChunkResult{Text: "c", Words: []Word{w("c", 0.2, 0.4)}, Segments: []Segment{{Start: 0.2, End: 0.4, Text: "c"}}}},
			},
			want: []Segment{{Start: 27, End: 28.8, Text: "a b c", Words: []Word{w("a", 27, 27.2), w("b", 27.9, 28.2), w("c", 28.6, 28.8)}}},
		},
		{
			name: "a finished sentence is not joined",
			pieces: []Piece{
				{Offset: 0, Duration: 10, Result: ChunkResult{Text: "Done.", Segments: []Segment{{Start: 9, End: 9.9, Text: "Done."}}}},
				{Offset: 10, Duration: 10, Result: ChunkResult{Text: "Next", Segments: []Segment{{Start: 0.1, End: 1, Text: "Next"}}}},
			},
			want: []Segment{{Start: 9, End: 9.9, Text: "Done.", Words: []Word{}}, {Start: 10.1, End: 11, Text: "Next", Words: []Word{}}},
		},
		{
			name: "a word heard on both sides of a cut is kept once; a repeated word stays",
			pieces: []Piece{
				{Offset: 0, Duration: 10, Result: ChunkResult{Words: []Word{w("the", 9.0, 9.2), w("cat", 9.7, 10)}, Text: "the cat"}},
				{Offset: 9.9, Duration: 10, Result: ChunkResult{Words: []Word{w("cat", 0, 0.1), w("cat", 0.3, 0.5)}, Text: "cat cat"}},
			},
			want: []Segment{{Start: 9, End: 10.4, Text: "the cat cat", Words: []Word{w("the", 9, 9.2), w("cat", 9.7, 10), w("cat", 10.2, 10.4)}}},
		},
		{
			name: "an echo is dropped even after a finished sentence; punctuation and case aside",
			pieces: []Piece{
				{Offset: 0, Duration: 10, Result: ChunkResult{Text: "Stop.", Words: []Word{w("Stop.", 9.5, 9.95)}, Segments: []Segment{{Start: 9.5, End: 9.95, Text: "Stop."}}}},
				{Offset: 9.9, Duration: 10, Result: ChunkResult{Text: "stop Go on", Words: []Word{w("stop", 0, 0.02), w("Go", 0.5, 0.7), w("on", 0.8, 0.9)},
					Segments: []Segment{{Start: 0, End: 0.9, Text: "stop Go on"}}}},
			},
			want: []Segment{
				{Start: 9.5, End: 9.95, Text: "Stop.", Words: []Word{w("Stop.", 9.5, 9.95)}},
				{Start: 10.4, End: 10.8, Text: "Go on", Words: []Word{w("Go", 10.4, 10.6), w("on", 10.7, 10.8)}},
			},
		},
		{
			name: "a chunk that only echoes adds nothing",
			pieces: []Piece{
				{Offset: 0, Duration: 10, Result: ChunkResult{Text: "yes", Words: []Word{w("yes", 9.7, 10)}}},
				{Offset: 9.95, Duration: 0.5, Result: ChunkResult{Text: "yes", Words: []Word{w("yes", 0, 0.1)}}},
			},
			want: []Segment{{Start: 9.7, End: 10, Text: "yes", Words: []Word{w("yes", 9.7, 10)}}},
		},
		{
			name: "no space before punctuation at a join",
			pieces: []Piece{
				{Offset: 0, Duration: 10, Result: ChunkResult{Text: "well", Segments: []Segment{{Start: 9, End: 9.9, Text: "well"}}}},
				{Offset: 10, Duration: 10, Result: ChunkResult{Text: ", then", Segments: []Segment{{Start: 0.1, End: 1, Text: ", then"}}}},
			},
			want: []Segment{{Start: 9, End: 11, Text: "well, then", Words: []Word{}}},
		},
		{
			name:   "text without timestamps spans its chunk; silence adds nothing",
			pieces: []Piece{{Offset: 0, Duration: 30}, {Offset: 30, Duration: 12, Result: ChunkResult{Text: "hello"}}},
			want:   []Segment{{Start: 30, End: 42, Text: "hello", Words: []Word{}}},
		},
		{
			name:   "a backwards word is repaired",
			pieces: []Piece{{Offset: 0, Duration: 5, Result: ChunkResult{Text: "x", Words: []Word{w("x", 2, 1.5)}}}},
			want:   []Segment{{Start: 2, End: 2, Text: "x", Words: []Word{w("x", 2, 2)}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Stitch(tt.pieces)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d segments %+v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if !segEqual(got[i], tt.want[i]) {
					t.Errorf("segment %d:\n got %+v\nwant %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func segEqual(a, b Segment) bool {
	const eps = 1e-9
	near := func(x, y float64) bool { return x-y < eps && y-x < eps }
	if !near(a.Start, b.Start) || !near(a.End, b.End) || a.Text != b.Text || len(a.Words) != len(b.Words) {
		return false
	}
	for i := range a.Words {
		if a.Words[i].Word != b.Words[i].Word || !near(a.Words[i].Start, b.Words[i].Start) || !near(a.Words[i].End, b.Words[i].End) {
			return false
		}
	}
	return true
}

func TestFullText(t *testing.T) {
	if got := FullText([]Segment{{Text: "a b"}, {Text: ""}, {Text: "c"}}); got != "a b c" {
		t.Fatalf("FullText = %q", got)
	}
}
