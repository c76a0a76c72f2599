package transcript

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseChunk feeds ParseChunk what a model might put in TRANSCRIPT and
// TIMESTAMPS. Whatever comes in, it must not panic, and what it accepts
// must be usable downstream: finite, non-negative times, text with single
// spaces. `go test` runs the seeds; `go test -fuzz FuzzParseChunk` explores.
func FuzzParseChunk(f *testing.F) {
	seeds := []struct{ text, ts string }{
		{"1 2 3", `{"words":[{"word":"1","start":0.5,"end":0.7}],"segments":[{"text":"1","start":0.5,"end":0.7}]}`},
		{"  hello   world ", `{"words":[{"word":" hello","start":0,"end":0.4},{"word":"world ","start":0.5,"end":0.9}],"segments":[]}`},
		{"", ""},
		{"no timestamps", "   \n"},
		{"empty lists", `{"words":[],"segments":[]}`},
		{"null lists", `{"words":null,"segments":null}`},
		{"end before start", `{"words":[{"word":"a","start":2,"end":1}]}`},
		{"negative", `{"words":[{"word":"a","start":-1,"end":1}]}`},
		{"huge", `{"segments":[{"text":"a","start":1e300,"end":1e308}]}`},
		{"not json", `{"words":[`},
		{"wrong types", `{"words":[{"word":7,"start":"0","end":true}]}`},
		{"array", `[1,2,3]`},
		{"extra keys", `{"words":[],"segments":[],"language":"en","confidence":0.9}`},
		{"unicode", `{"words":[{"word":"ça\u00a0va","start":0.1,"end":0.2}],"segments":[{"text":"ça va","start":0.1,"end":0.2}]}`},
		{"\xff\xfe bad utf-8", `{"words":[{"word":"\xff","start":0,"end":0}]}`},
		{"exponent", `{"words":[{"word":"x","start":1e-320,"end":9.99999e6}]}`},
	}
	for _, s := range seeds {
		f.Add(s.text, []byte(s.ts))
	}
	f.Fuzz(func(t *testing.T, text string, ts []byte) {
		r, err := ParseChunk(text, ts)
		if err != nil {
			if len(strings.TrimSpace(string(ts))) == 0 {
				t.Fatalf("empty timestamps refused: %v", err)
			}
			return
		}
		if r.Text != strings.Join(strings.Fields(text), " ") {
			t.Fatalf("text %q from %q", r.Text, text)
		}
		check := func(what string, start, end float64) {
			for _, v := range []float64{start, end} {
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v >= 1e7 {
					t.Fatalf("%s accepted with time %v", what, v)
				}
			}
		}
		for _, w := range r.Words {
			check("word "+w.Word, w.Start, w.End)
			if w.Word != strings.TrimSpace(w.Word) {
				t.Fatalf("word %q not trimmed", w.Word)
			}
		}
		for _, s := range r.Segments {
			check("segment "+s.Text, s.Start, s.End)
			if s.Text != strings.Join(strings.Fields(s.Text), " ") {
				t.Fatalf("segment text %q not normalised", s.Text)
			}
		}
		// What was accepted survives the JSON export.
		if utf8.ValidString(r.Text) {
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("accepted result does not marshal: %v", err)
			}
		}
	})
}
