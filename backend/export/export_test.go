package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize"
	"github.com/nemo-transcribe/nemo-transcribe/backend/speakers"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// fixtures are the transcripts the golden files are rendered from.
var fixtures = []struct {
	name string
	t    transcript.Transcript
}{
	{"two-segments", transcript.Transcript{
		Source:   "/home/ana/Recordings/standup.wav",
		SHA256:   "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Duration: 6.5,
		Model:    "parakeet-tdt-0.6b-v2",
		Text:     "Good morning everyone. Let's start with the build.",
		Segments: []transcript.Segment{
			{Start: 0.32, End: 1.84, Text: "Good morning everyone.", Words: []transcript.Word{
				{Word: "Good", Start: 0.32, End: 0.56},
				{Word: "morning", Start: 0.6, End: 1.0004},
				{Word: "everyone.", Start: 1.12, End: 1.84},
			}},
			{Start: 2.2, End: 4.987654, Text: "Let's start with the build.", Words: []transcript.Word{
				{Word: "Let's", Start: 2.2, End: 2.48},
				{Word: "start", Start: 2.52, End: 2.9},
				{Word: "with", Start: 2.96, End: 3.12},
				{Word: "the", Start: 3.16, End: 3.3},
				{Word: "build.", Start: 3.36, End: 4.987654},
			}},
		},
	}},
	{"empty", transcript.Transcript{
		Source:   "/tmp/silence.wav",
		SHA256:   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		Duration: 3,
		Model:    "parakeet-tdt-0.6b-v2",
	}},
	{"unicode", transcript.Transcript{
		Source:   "C:\\Users\\Zoë\\Música\\entrevista.m4a",
		SHA256:   "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
		Duration: 12,
		Model:    "canary-1b",
		Text:     "Café déjà vu, naïve Zoë. 東京へ行きます。 Party time 🎉👍🏽 rock & roll <3",
		Segments: []transcript.Segment{
			{Start: 0, End: 2.5, Text: "Café déjà vu, naïve Zoë."},
			{Start: 3, End: 5.25, Text: "東京へ行きます。"},
			{Start: 6, End: 8, Text: "Party time 🎉👍🏽"},
			{Start: 9, End: 11.5, Text: "rock & roll <3 --> <i>encore</i>"},
		},
	}},
	{"over-an-hour", transcript.Transcript{
		Source:   "/data/lecture.flac",
		SHA256:   "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9",
		Duration: 360002,
		Model:    "parakeet-tdt-0.6b-v2",
		Text:     "Almost an hour. Just past the hour. Ten hours in. A hundred hours in.",
		Segments: []transcript.Segment{
			{Start: 3598.5, End: 3599.9996, Text: "Almost an hour."},
			{Start: 3600, End: 3723.4564, Text: "Just past the hour."},
			{Start: 35999.999, End: 36001.25, Text: "Ten hours in."},
			{Start: 360000.5, End: 360001.75, Text: "A hundred hours in."},
		},
	}},
	{"lecture-words", transcript.Transcript{
		Source:   "/data/lecture.wav",
		SHA256:   "ef2d127de37b942baad06145e54b0c619a1f22327b2ebbcfbec78f5564afe39d",
		Duration: 24,
		Model:    "parakeet-tdt-0.6b-v2",
		Text:     "Welcome. Today we look at how speech recognition models turn audio into text, one chunk at a time. Questions come later. slowly spoken words fill https://example.org/a/very/long/address/that/goes/on/and/on 東京へ行きます。",
		Segments: []transcript.Segment{
			{Start: 0, End: 6.4, Text: "Welcome. Today we look at how speech recognition models turn audio into text, one chunk at a time.", Words: words(
				"Welcome.", 0, 0.6, "Today", 1.08, 1.3, "we", 1.35, 1.45, "look", 1.5, 1.7, "at", 1.75, 1.85, "how", 1.9, 2.1,
				"speech", 2.15, 2.5, "recognition", 2.55, 3.1, "models", 3.15, 3.5, "turn", 3.55, 3.75, "audio", 3.8, 4.1,
				"into", 4.15, 4.3, "text,", 4.35, 4.92, "one", 5.0, 5.2, "chunk", 5.25, 5.6, "at", 5.65, 5.75, "a", 5.8, 5.85, "time.", 5.9, 6.4)},
			{Start: 8.6, End: 12, Text: "Questions come later.", Words: words("Questions", 8.6, 9.2, "come", 11.2, 11.5, "later.", 11.55, 12)},
			{Start: 13, End: 20.8, Text: "slowly spoken words fill", Words: words("slowly", 13, 15, "spoken", 15.5, 17.5, "words", 18, 19.4, "fill", 19.5, 20.8)},
			{Start: 21, End: 22, Text: "https://example.org/a/very/long/address/that/goes/on/and/on", Words: words("https://example.org/a/very/long/address/that/goes/on/and/on", 21, 22)},
			{Start: 22, End: 23, Text: "東京へ行きます。", Words: words("東京", 22, 22.4, "へ", 22.4, 22.5, "行きます。", 22.5, 23)},
		},
	}},
	{"touching-and-overlapping", transcript.Transcript{
		Source:   "/data/crosstalk.wav",
		SHA256:   "4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a",
		Duration: 5,
		Model:    "parakeet-tdt-0.6b-v2",
		Text:     "touching overlapping short tie tied late negative blank",
		Segments: []transcript.Segment{
			{Start: -0.2, End: 0.8, Text: "negative start"},
			{Start: 0.8, End: 2, Text: "touching"},            // starts where the previous ends
			{Start: 1.5, End: 2.2, Text: "overlapping"},       // clips "touching" to 1.5
			{Start: 2.5, End: 2.6, Text: "short"},             // stretched to 3.0
			{Start: 3.2, End: 3.1, Text: "ends before start"}, // end raised, then stretched to the next start
			{Start: 3.4, End: 3.4, Text: "tie"},               // same start as the next
			{Start: 3.4, End: 3.9, Text: "tied"},              // moved to 3.401, still shown 0.5 s
			{Start: 4.2, End: 4.25, Text: "  \n "},            // no text: dropped
			{Start: 4.8, End: 4.81, Text: "late\r\nline two"}, // stretched only to the end of the media
		},
	}},
	{"diarized", diarizedMeeting()},
	{"diarized-renamed", renamed(diarizedMeeting(), "S2", `Zoë <"Z"> & Co`, "Speaker 3", "Ana-->Bea")},
}

// diarizedMeeting is a meeting of three speakers as diarize.Attribute
// labels it: the second segment is split where Speaker 1 answers, the
// third has no word timestamps, the fourth has the same speaker as the
// third.
func diarizedMeeting() transcript.Transcript {
	segs := []transcript.Segment{
		{Start: 0.4, End: 3.0, Text: "Good morning. Shall we start with the build?", Words: words(
			"Good", 0.4, 0.6, "morning.", 0.65, 1.1, "Shall", 1.5, 1.7, "we", 1.75, 1.85, "start", 1.9, 2.2,
			"with", 2.25, 2.4, "the", 2.45, 2.55, "build?", 2.6, 3.0)},
		{Start: 3.4, End: 6.6, Text: "Yes, it is green. Great, thanks.", Words: words(
			"Yes,", 3.4, 3.7, "it", 3.8, 3.95, "is", 4.0, 4.1, "green.", 4.15, 4.6, "Great,", 5.7, 6.0, "thanks.", 6.05, 6.5)},
		{Start: 8, End: 10, Text: "Next item is the release."},
		{Start: 10.6, End: 12.8, Text: "I can take that one, today.", Words: words(
			"I", 10.6, 10.7, "can", 10.75, 10.9, "take", 10.95, 11.2, "that", 11.25, 11.4, "one,", 11.45, 11.7, "today.", 12.2, 12.8)},
		{Start: 13, End: 13.9, Text: "Thanks.", Words: words("Thanks.", 13, 13.9)},
	}
	t := transcript.Transcript{
		Source:   "/home/ana/Recordings/standup-3.wav",
		SHA256:   "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
		Duration: 14,
		Model:    "parakeet-tdt-0.6b-v2",
		Segments: segs,
		Text:     transcript.FullText(segs),
	}
	return diarize.Attribute(t, diarize.Result{
		Turns: []diarize.Turn{
			{Start: 0, End: 3.2, Speaker: 0}, {Start: 3.2, End: 5.6, Speaker: 1}, {Start: 5.6, End: 7.5, Speaker: 0},
			{Start: 7.5, End: 12.9, Speaker: 2}, {Start: 12.9, End: 14, Speaker: 0},
		},
		Speakers: []transcript.Speaker{
			{ID: "S1", Label: "Speaker 1", Seconds: 6.2}, {ID: "S2", Label: "Speaker 2", Seconds: 2.4},
			{ID: "S3", Label: "Speaker 3", Seconds: 5.4},
		},
	})
}

// renamed is t with speakers renamed, old and new names in pairs, as the
// history does it.
func renamed(t transcript.Transcript, pairs ...string) transcript.Transcript {
	for i := 0; i+1 < len(pairs); i += 2 {
		var err error
		if t, err = speakers.Rename(t, pairs[i], pairs[i+1]); err != nil {
			panic(err)
		}
	}
	return t
}

// words builds a word list from (text, start, end) triples.
func words(spec ...any) []transcript.Word {
	var out []transcript.Word
	for i := 0; i+2 < len(spec); i += 3 {
		num := func(v any) float64 {
			if f, ok := v.(float64); ok {
				return f
			}
			return float64(v.(int))
		}
		out = append(out, transcript.Word{Word: spec[i].(string), Start: num(spec[i+1]), End: num(spec[i+2])})
	}
	return out
}

func TestGolden(t *testing.T) {
	type variant struct {
		suffix, format string
		opts           Options
	}
	var variants []variant
	for _, f := range Formats {
		variants = append(variants, variant{f, f, Options{}})
	}
	variants = append(variants, variant{"ts.txt", "txt", Options{TXTTimestamps: true}})
	for _, fx := range fixtures {
		for _, v := range variants {
			format := v.format
			name := fx.name + "." + v.suffix
			t.Run(name, func(t *testing.T) {
				got, err := RenderOptions(fx.t, format, v.opts)
				if err != nil {
					t.Fatal(err)
				}
				if format == "srt" || format == "vtt" {
					if _, err := parseSubtitles(got, format == "vtt"); err != nil {
						t.Errorf("invalid %s: %v\n%s", format, err, got)
					}
				}
				path := filepath.Join("testdata", name+".golden")
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("output differs from %s (run go test -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
				}
			})
		}
	}
}

func TestCueTiming(t *testing.T) {
	// Expected times for the touching-and-overlapping fixture, in ms; the
	// golden files show the same, this spells out why.
	want := []struct {
		start, end int64
		text       string
	}{
		{0, 720, "negative start"},        // clamped to 0; ends a gap before the next
		{800, 1420, "touching"},           // clipped to a gap before the next start
		{1500, 2420, "overlapping"},       // stretched towards 1 s, clipped by the next
		{2500, 3120, "short"},             // the same
		{3200, 3320, "ends before start"}, // end raised, then stretched and clipped
		{3400, 3401, "tie"},               // keeps a millisecond before its twin
		{3481, 4481, "tied"},              // moved a millisecond and a gap later, shown 1 s
		{4800, 5000, "late line two"},     // stretched only to the end of the media
	}
	var fx transcript.Transcript
	for _, f := range fixtures {
		if f.name == "touching-and-overlapping" {
			fx = f.t
		}
	}
	got := cues(fx, true)
	if len(got) != len(want) {
		t.Fatalf("got %d cues, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].start != w.start || got[i].end != w.end || got[i].text() != w.text {
			t.Errorf("cue %d = %d..%d %q, want %+v", i+1, got[i].start, got[i].end, got[i].text(), w)
		}
	}
}

func TestCuesFromWords(t *testing.T) {
	var fx transcript.Transcript
	for _, f := range fixtures {
		if f.name == "lecture-words" {
			fx = f.t
		}
	}
	var got []string
	for _, c := range cues(fx, true) {
		got = append(got, fmt.Sprintf("%d-%d %s", c.start, c.end, strings.Join(c.lines, " | ")))
	}
	want := []string{
		// A sentence end closes a cue.
		"0-1000 Welcome.",
		// Two balanced lines; past a line's worth, a comma closes a cue.
		"1080-4920 Today we look at how speech recognition | models turn audio into text,",
		"5000-6400 one chunk at a time.",
		// A pause of 1.5 s or more ends a cue.
		"8600-9600 Questions",
		"11200-12200 come later.",
		// Seven seconds at most, even within one short line.
		"13000-19400 slowly spoken words",
		"19500-20800 fill",
		// A word longer than a line is cut into line-sized pieces; the cue
		// ends a gap before the next.
		"21000-21920 https://example.org/a/very/long/address/th | at/goes/on/and/on",
		// No spaces between Japanese words.
		"22000-23000 東京へ行きます。",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("cues:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		sec float64
		srt string
		vtt string
	}{
		{0, "00:00:00,000", "00:00:00.000"},
		{0.0004, "00:00:00,000", "00:00:00.000"},
		{0.0005, "00:00:00,001", "00:00:00.001"},
		{59.9996, "00:01:00,000", "00:01:00.000"},
		{3599.999, "00:59:59,999", "00:59:59.999"},
		{3600, "01:00:00,000", "01:00:00.000"},
		{86399.5, "23:59:59,500", "23:59:59.500"},
		{360000, "100:00:00,000", "100:00:00.000"},
		{-3, "00:00:00,000", "00:00:00.000"},
		{math.NaN(), "00:00:00,000", "00:00:00.000"},
	}
	for _, tt := range tests {
		if got := timestamp(millis(tt.sec), ','); got != tt.srt {
			t.Errorf("SRT time of %v = %s, want %s", tt.sec, got, tt.srt)
		}
		if got := timestamp(millis(tt.sec), '.'); got != tt.vtt {
			t.Errorf("VTT time of %v = %s, want %s", tt.sec, got, tt.vtt)
		}
	}
}

// TestSubtitlesRandom renders many random, messy transcripts and checks
// every result with the strict parser.
func TestSubtitlesRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		tr := randomTranscript(rng)
		checkSubtitles(t, tr)
	}
	for range 500 {
		tr := randomTranscript(rng)
		diarizeRandomly(rng, &tr)
		checkSubtitles(t, tr)
	}
}

// diarizeRandomly gives every segment a speaker and its words mostly the
// same one, sometimes another (cues must split there too), from labels
// that need escaping, folding or shortening.
func diarizeRandomly(rng *rand.Rand, tr *transcript.Transcript) {
	labels := []string{"Speaker 1", "Speaker 2", "a<b>&c", "x-->y", "  Zoë \n Li ", "東京", "&amp;", strings.Repeat("long ", 12)}
	labels = labels[:1+rng.IntN(len(labels))]
	for i := range tr.Segments {
		s := &tr.Segments[i]
		s.Speaker = labels[rng.IntN(len(labels))]
		for j := range s.Words {
			s.Words[j].Speaker = s.Speaker
			if rng.IntN(5) == 0 {
				s.Words[j].Speaker = labels[rng.IntN(len(labels))]
			}
		}
	}
	for i, l := range labels {
		tr.Speakers = append(tr.Speakers, transcript.Speaker{ID: fmt.Sprintf("S%d", i+1), Label: l, Seconds: 1})
	}
}

// FuzzSubtitles lets `go test -fuzz` search for transcripts that break the
// subtitle rules; in a plain test run it checks the seeds.
func FuzzSubtitles(f *testing.F) {
	f.Add(0.0, 1.0, "a", 1.0, 0.5, "b", 2.0)
	f.Add(-1.0, -2.0, "x\n\ny", 0.0, 0.0, "\r", 0.0)
	f.Add(3600.0, 3600.0, "-->", 3600.0, 3599.0, "<b>&", math.Inf(1))
	f.Add(3600.0, 3600.0, "--->", 3603.0, 3599.0, "0", math.Inf(1)) // found by fuzzing
	f.Fuzz(func(t *testing.T, s1, e1 float64, t1 string, s2, e2 float64, t2 string, dur float64) {
		checkSubtitles(t, transcript.Transcript{Duration: dur, Segments: []transcript.Segment{
			{Start: s1, End: e1, Text: t1},
			{Start: s2, End: e2, Text: t2},
		}})
	})
}

// FuzzSubtitlesSpeakers is FuzzSubtitles for diarized transcripts: the
// first segment's words take turns between the two speakers, the second
// segment has no words.
func FuzzSubtitlesSpeakers(f *testing.F) {
	f.Add(0.0, 3.0, "a b c d", "Speaker 1", 2.0, 4.0, "e f", "Speaker 2", 5.0)
	f.Add(1.0, 1.0, "x --> y", "<v>&amp;", 0.5, 0.2, "z", " \n ", 0.0)
	f.Add(0.0, 9.0, strings.Repeat("word ", 30), strings.Repeat("name", 20), 9.0, 9.5, "-->", "a-->b", math.Inf(1))
	f.Fuzz(func(t *testing.T, s1, e1 float64, t1, sp1 string, s2, e2 float64, t2, sp2 string, dur float64) {
		seg := transcript.Segment{Start: s1, End: e1, Text: t1, Speaker: sp1}
		fields := strings.Fields(t1)
		for i, f := range fields {
			w := transcript.Word{Word: f, Start: s1 + (e1-s1)*float64(i)/float64(len(fields)), Speaker: sp1}
			w.End = w.Start + (e1-s1)/float64(len(fields))
			if i%2 == 1 {
				w.Speaker = sp2
			}
			seg.Words = append(seg.Words, w)
		}
		checkSubtitles(t, transcript.Transcript{Duration: dur, Segments: []transcript.Segment{
			seg,
			{Start: s2, End: e2, Text: t2, Speaker: sp2},
		}, Speakers: []transcript.Speaker{{ID: "S1", Label: sp1}, {ID: "S2", Label: sp2}}})
	})
}

func checkSubtitles(t *testing.T, tr transcript.Transcript) {
	t.Helper()
	withText := 0
	var want []rune // every character of the text, in any order
	for _, s := range tr.Segments {
		text := s.Text
		if len(s.Words) > 0 {
			var ws []string
			for _, w := range s.Words {
				ws = append(ws, w.Word)
			}
			text = strings.Join(ws, " ")
		}
		if strings.Join(strings.Fields(strings.ReplaceAll(text, "\uFEFF", "")), "") != "" {
			withText++
		}
		want = append(want, visible(text)...)
	}
	slices.Sort(want)
	for _, format := range []string{"srt", "vtt"} {
		out, err := Render(tr, format)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := parseSubtitles(out, format == "vtt")
		if err != nil {
			t.Fatalf("invalid %s: %v\nsegments: %+v\n%s", format, err, tr.Segments, out)
		}
		if len(parsed) < withText {
			t.Fatalf("%s has %d cues for %d segments with text", format, len(parsed), withText)
		}
		if format == "vtt" { // SRT rewrites "-->"; WebVTT escapes it
			var got []rune
			for _, c := range parsed {
				got = append(got, visible(vttUnescaper.Replace(strings.Join(c.lines, " ")))...)
			}
			slices.Sort(got)
			if string(got) != string(want) {
				t.Fatalf("vtt text %q, want the characters of %q", string(got), string(want))
			}
			checkVoices(t, tr, parsed)
		}
	}
	checkSpeakerLabels(t, tr)
}

// checkVoices: every cue's voice tag is the speaker of all its text. Each
// speaker's characters in the transcript are exactly those in the cues
// tagged with that speaker's voice, so no cue holds two speakers' words;
// a transcript without speakers has no voice tags.
func checkVoices(t *testing.T, tr transcript.Transcript, parsed []parsedCue) {
	t.Helper()
	want := map[string][]rune{}
	for _, s := range tr.Segments {
		if len(s.Words) == 0 {
			want[fold(s.Speaker)] = append(want[fold(s.Speaker)], visible(s.Text)...)
			continue
		}
		for _, w := range s.Words {
			who := fold(w.Speaker)
			if who == "" {
				who = fold(s.Speaker)
			}
			want[who] = append(want[who], visible(w.Word)...)
		}
	}
	got := map[string][]rune{}
	for _, c := range parsed {
		got[c.voice] = append(got[c.voice], visible(vttUnescaper.Replace(strings.Join(c.lines, " ")))...)
	}
	for who := range want {
		if len(want[who]) == 0 {
			delete(want, who)
		}
	}
	for who := range got {
		if len(got[who]) == 0 {
			delete(got, who)
		}
	}
	for _, m := range []map[string][]rune{want, got} {
		for who := range m {
			slices.Sort(m[who])
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("vtt text by voice %q, want %q", got, want)
	}
}

// checkSpeakerLabels: SRT cues start with the speaker's label exactly
// where the speaker changes (in transcript order), never elsewhere.
func checkSpeakerLabels(t *testing.T, tr transcript.Transcript) {
	t.Helper()
	changes, prev := 0, ""
	for _, s := range tr.Segments {
		for _, tk := range tokens(s) {
			if tk.speaker != prev {
				if tk.speaker != "" {
					changes++
				}
				prev = tk.speaker
			}
		}
	}
	labelled := 0
	for _, c := range cues(tr, true) {
		if c.speaker != "" && strings.HasPrefix(c.lines[0], labelText(c.speaker)) {
			labelled++
		}
	}
	if labelled != changes {
		t.Fatalf("%d SRT cues start with a speaker's label, want one for each of the %d changes of speaker", labelled, changes)
	}
}

// visible is s without white space and byte-order marks.
func visible(s string) []rune {
	var out []rune
	for _, r := range s {
		if !unicode.IsSpace(r) && r != '\uFEFF' {
			out = append(out, r)
		}
	}
	return out
}

func randomTranscript(rng *rand.Rand) transcript.Transcript {
	texts := []string{"hello", "", "  ", "two\nlines", "a\r\n\r\nb", "x --> y", "<i>&</i>", "終わり", "\uFEFF"}
	vocab := []string{"a", "word,", "longer.", "東京", "へ", "supercalifragilisticexpialidocious-and-then-some-more", "?", "x-->y", "&amp;"}
	var tr transcript.Transcript
	tr.Duration = rng.Float64() * 20
	at := rng.Float64() * 2
	for range rng.IntN(12) {
		start := at + (rng.Float64()-0.3)*2 // sometimes before the previous start
		end := start + (rng.Float64()-0.1)*1.5
		if rng.IntN(8) == 0 {
			end = start
		}
		seg := transcript.Segment{Start: start, End: end, Text: texts[rng.IntN(len(texts))]}
		if rng.IntN(2) == 0 { // words, some backwards, some long, some far apart
			var ws []string
			wt := start
			for range 1 + rng.IntN(40) {
				w := transcript.Word{Word: vocab[rng.IntN(len(vocab))], Start: wt, End: wt + (rng.Float64()-0.1)*0.8}
				wt += rng.Float64() * 1.2
				if rng.IntN(10) == 0 {
					wt += 3
				}
				seg.Words = append(seg.Words, w)
				ws = append(ws, w.Word)
			}
			seg.Text = strings.Join(ws, " ")
		}
		tr.Segments = append(tr.Segments, seg)
		at = max(at, start)
	}
	return tr
}

func TestParseSubtitlesCatchesBrokenFiles(t *testing.T) {
	good := "1\n00:00:01,000 --> 00:00:02,000\nhi\n\n2\n00:00:02,080 --> 00:00:03,000\nthere\n"
	if _, err := parseSubtitles([]byte(good), false); err != nil {
		t.Fatalf("rejects a good file: %v", err)
	}
	bad := map[string]string{
		"BOM":             "\uFEFF" + good,
		"CRLF":            strings.ReplaceAll(good, "\n", "\r\n"),
		"no final LF":     strings.TrimSuffix(good, "\n"),
		"two final LFs":   good + "\n",
		"two blank lines": strings.Replace(good, "\n\n", "\n\n\n", 1),
		"numbering":       strings.Replace(good, "2\n", "3\n", 1),
		"comma vs dot":    strings.Replace(good, "01,000", "01.000", 1),
		"cue settings":    strings.Replace(good, "02,000\nhi", "02,000 align:start\nhi", 1),
		"end == start":    strings.Replace(good, "00:00:02,000\nhi", "00:00:01,000\nhi", 1),
		"overlap":         strings.Replace(good, "00:00:02,080 --> 00:00:03,000", "00:00:01,500 --> 00:00:03,000", 1),
		"gap too small":   strings.Replace(good, "00:00:02,080", "00:00:02,079", 1),
		"over 7 s":        strings.Replace(good, "00:00:01,000 --> 00:00:02,000", "00:00:01,000 --> 00:00:08,001", 1) + "",
		"line too long":   strings.Replace(good, "hi", strings.Repeat("é", 43), 1),
		"three lines":     strings.Replace(good, "hi", "a\nb\nc", 1),
		"no text":         "1\n00:00:01,000 --> 00:00:02,000\n",
	}
	for name, s := range bad {
		if _, err := parseSubtitles([]byte(s), false); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := parseSubtitles([]byte("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi &amp; "+strings.Repeat("x", 37)+"\n"), true); err != nil {
		t.Errorf("rejects a good VTT file: %v", err)
	}
	for name, s := range map[string]string{
		"no header":   "00:00:01.000 --> 00:00:02.000\nhi\n",
		"comma":       "WEBVTT\n\n00:00:01,000 --> 00:00:02,000\nhi\n",
		"header text": "WEBVTT extra\n\n00:00:01.000 --> 00:00:02.000\nhi\n",
	} {
		if _, err := parseSubtitles([]byte(s), true); err == nil {
			t.Errorf("VTT %s: accepted", name)
		}
	}
}

func TestJSONSchema(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			out, err := Render(fx.t, "json")
			if err != nil {
				t.Fatal(err)
			}
			// Lists are arrays, never null.
			var raw struct {
				Segments []map[string]json.RawMessage `json:"segments"`
			}
			if err := json.Unmarshal(out, &raw); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(out, []byte("null")) {
				t.Errorf("output contains null:\n%s", out)
			}
			// It reads back into the shared type with times rounded to ms.
			var back transcript.Transcript
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatal(err)
			}
			if want := roundedCopy(fx.t); !reflect.DeepEqual(back, want) {
				t.Errorf("read back %+v\nwant      %+v", back, want)
			}
		})
	}
}

// roundedCopy is t as the JSON export should carry it: times rounded to the
// millisecond and empty lists present.
func roundedCopy(t transcript.Transcript) transcript.Transcript {
	r := func(v float64) float64 { return math.Round(v*1000) / 1000 }
	out := t
	out.Duration = r(t.Duration)
	out.Segments = []transcript.Segment{}
	for _, s := range t.Segments {
		ws := []transcript.Word{}
		for _, w := range s.Words {
			ws = append(ws, transcript.Word{Word: w.Word, Start: r(w.Start), End: r(w.End), Speaker: w.Speaker})
		}
		out.Segments = append(out.Segments, transcript.Segment{Start: r(s.Start), End: r(s.End), Text: s.Text, Words: ws, Speaker: s.Speaker})
	}
	out.Speakers = nil
	for _, sp := range t.Speakers {
		out.Speakers = append(out.Speakers, transcript.Speaker{ID: sp.ID, Label: sp.Label, Seconds: r(sp.Seconds)})
	}
	return out
}

func TestJSONRejectsNonNumbers(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := Render(transcript.Transcript{Duration: v}, "json"); err == nil {
			t.Errorf("duration %v rendered without error", v)
		}
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	for _, f := range []string{"docx", "", "SRT", ".srt"} {
		_, err := Render(transcript.Transcript{}, f)
		if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), "json, srt, vtt, txt, csv, md") {
			t.Errorf("Render(%q) error = %v, want ErrUnknownFormat listing the formats", f, err)
		}
	}
}

func TestParseFormats(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"json,srt", []string{"json", "srt"}, ""},
		{"srt, JSON ,Srt", []string{"srt", "json"}, ""},
		{"txt,,vtt,", []string{"txt", "vtt"}, ""},
		{" VTT ", []string{"vtt"}, ""},
		{"json,docx", nil, `unknown export format "docx" (supported: json, srt, vtt, txt, csv, md)`},
		{"", nil, "no export format given (supported: json, srt, vtt, txt, csv, md)"},
		{"CSV,md", []string{"csv", "md"}, ""},
		{" , ", nil, "no export format given"},
	}
	for _, tt := range tests {
		got, err := ParseFormats(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseFormats(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFormats(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
