package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize/diarizetest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/voices"
)

// writeVoices writes what dtmf-synth --random-presses --voices n
// --random-turns 1-maxTurn writes: random presses spoken by n voices in
// random turns, 44.1 kHz mono 16-bit. It returns each press's voice.
func writeVoices(t *testing.T, path string, n int, seconds float64, maxTurn int) []voices.Press {
	t.Helper()
	f0s, err := voices.Spread(n)
	if err != nil {
		t.Fatal(err)
	}
	keys := voices.RandomPresses(seconds, 0.25, 0.6, 0.1, 0.8, 11)
	who := voices.RandomTurns(len(keys), n, 1, maxTurn, 11)
	presses := make([]voices.Press, len(keys))
	for i, k := range keys {
		presses[i] = voices.Press{Press: k, F0: f0s[who[i]]}
	}
	samples := voices.Synthesize(presses, 44100, seconds, dtmf.SynthOptions{NoiseDB: -50, Seed: 1})
	var buf bytes.Buffer
	if err := audio.WriteWAV(&buf, samples, 44100, 1, audio.PCM16); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return presses
}

func voicesServer(t *testing.T) string {
	return tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{tritontest.DTMF(), tritontest.Voices()}})
}

// exportJSON is the JSON export as a reader who does not know our types
// sees it.
type exportJSON struct {
	Segments []struct {
		Speaker *string `json:"speaker"`
		Start   float64 `json:"start"`
		Words   []struct {
			Speaker *string `json:"speaker"`
			Start   float64 `json:"start"`
			End     float64 `json:"end"`
		} `json:"words"`
	} `json:"segments"`
	Speakers []map[string]any `json:"speakers"`
}

func TestTranscribeSpeakersAutoJSON(t *testing.T) {
	addr := voicesServer(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "meeting.wav")
	presses := writeVoices(t, src, 3, 90, 5)
	out := filepath.Join(dir, "out")
	r := runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--out", out, "--format", "json,txt",
		"--cache-dir", filepath.Join(dir, "cache"), "--chunk-seconds", "20", "--speakers", "auto", src)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "meeting.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got exportJSON
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Speakers) != 3 {
		t.Fatalf("%d speakers, want 3: %v", len(got.Speakers), got.Speakers)
	}
	index := map[string]int{}
	for i, s := range got.Speakers {
		for _, k := range []string{"id", "label", "seconds"} {
			if _, ok := s[k]; !ok {
				t.Errorf("speaker %v has no %q", s, k)
			}
		}
		index[s["label"].(string)] = i
	}
	var truth, pred []int
	voiceOf := map[float64]int{}
	for _, seg := range got.Segments {
		if seg.Speaker == nil {
			t.Fatalf("segment at %v has no speaker", seg.Start)
		}
		for _, w := range seg.Words {
			if w.Speaker == nil || *w.Speaker != *seg.Speaker {
				t.Fatalf("word at %v: speaker %v in a segment of %q", w.Start, w.Speaker, *seg.Speaker)
			}
			v := -1
			for _, p := range presses {
				if math.Min(w.End, p.End) > math.Max(w.Start, p.Start) {
					if _, ok := voiceOf[p.F0]; !ok {
						voiceOf[p.F0] = len(voiceOf)
					}
					v = voiceOf[p.F0]
					break
				}
			}
			truth, pred = append(truth, v), append(pred, index[*w.Speaker])
		}
	}
	if len(truth) != len(presses) {
		t.Fatalf("%d words for %d presses", len(truth), len(presses))
	}
	if acc, _ := diarizetest.Accuracy(truth, pred); acc != 1 {
		t.Errorf("%.1f%% of words to the right speaker", 100*acc)
	}
	txt, _ := os.ReadFile(filepath.Join(out, "meeting.txt"))
	if !strings.Contains(string(txt), "Speaker 1") {
		t.Errorf("txt without speakers:\n%s", txt)
	}

	// Diarize later, with an exact count, without transcribing again.
	r = runCLI(t, "history", "list", "--json")
	var entries []struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil || len(entries) != 1 {
		t.Fatalf("history list: %v %q", err, r.stdout)
	}
	id := strconv.FormatInt(entries[0].ID, 10)
	r = runCLI(t, "history", "diarize", "--server", addr, "--cache-dir", filepath.Join(dir, "cache"), "--speakers", "2", id)
	if r.code != 0 || strings.TrimSpace(r.stdout) != id+": Speaker 1, Speaker 2" {
		t.Fatalf("history diarize: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "history", "export", "--out", "-", "--format", "json", id)
	if r.code != 0 || strings.Count(r.stdout, `"label": "Speaker`) != 2 {
		t.Errorf("export after diarize: exit %d\n%s", r.code, r.stdout)
	}
}

func TestNoSpeakerModelFailsAtOnce(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{}) // dtmf alone
	dir := t.TempDir()
	src := filepath.Join(dir, "a.wav")
	writeDTMF(t, src, truthPresses[:2], 16000, 4)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--speakers", "auto"}, "no speaker-embedding model"},
		{[]string{"--speakers", "2", "--speaker-model", "titanet-large"}, `"titanet-large"`},
	} {
		start := time.Now()
		args := append([]string{"transcribe", "--server", addr, "--model", "dtmf", "--out", dir, "--cache-dir", filepath.Join(dir, "c")}, tc.args...)
		r := runCLI(t, append(args, src)...)
		if r.code != exitFailed || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q", tc.args, r.code, r.stderr)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%q: took %v to fail", tc.args, d)
		}
		if _, err := os.Stat(filepath.Join(dir, "a.json")); err == nil {
			t.Fatalf("%q: wrote an output", tc.args)
		}
	}
	if n := serverCount(t, addr); n != 0 {
		t.Errorf("%d inferences before failing", n)
	}
}

func TestSpeakerUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--speakers", "0"}, {"--speakers", "many"}, {"--speakers", "-2"},
		{"--min-speakers", "2"}, {"--speaker-model", "titanet-large"},
		{"--speakers", "3", "--max-speakers", "4"},
		{"--speakers", "auto", "--min-speakers", "4", "--max-speakers", "2"},
		{"--speakers", "auto", "--max-speakers", "-1"},
	} {
		r := runCLI(t, append(append([]string{"transcribe", "--server", "127.0.0.1:1", "--model", "dtmf"}, args...), "x.wav")...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "speakers") && !strings.Contains(r.stderr, "speaker-model") {
			t.Errorf("%q: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if r := runCLI(t, "history", "diarize", "--server", "127.0.0.1:1", "seven"); r.code != exitUsage {
		t.Errorf("history diarize seven: exit %d", r.code)
	}
}

func TestStatusListsSpeakerModels(t *testing.T) {
	r := runCLI(t, "status", "--server", voicesServer(t), "--json")
	var st struct {
		SpeakerModels []string          `json:"speakerModels"`
		Models        []json.RawMessage `json:"models"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); r.code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", r.code, err, r.stdout)
	}
	if len(st.SpeakerModels) != 1 || st.SpeakerModels[0] != tritontest.VoicesModelName || len(st.Models) != 2 {
		t.Errorf("speaker models %q of %d models", st.SpeakerModels, len(st.Models))
	}
}
