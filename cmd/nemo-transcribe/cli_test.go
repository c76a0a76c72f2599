package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// truthPresses straddle the neighbourhood of the 30 s and 60 s chunk limits
// and include short and long presses, so a wrong cut, a lost offset or a
// resampler delay shows up as a wrong key or a shifted time.
var truthPresses = []dtmf.Press{
	{Key: '1', Start: 0.50, End: 0.70},
	{Key: '5', Start: 3.10, End: 3.16},
	{Key: '9', Start: 12.00, End: 12.40},
	{Key: '#', Start: 26.80, End: 27.00},
	{Key: 'A', Start: 28.90, End: 29.05},
	{Key: '0', Start: 29.60, End: 29.85},
	{Key: '*', Start: 30.30, End: 30.50},
	{Key: 'D', Start: 31.20, End: 31.60},
	{Key: '7', Start: 55.50, End: 55.70},
	{Key: '3', Start: 58.95, End: 59.20},
	{Key: 'C', Start: 59.75, End: 59.95},
	{Key: '2', Start: 61.00, End: 61.30},
	{Key: 'B', Start: 64.00, End: 64.25},
}

// writeDTMF writes presses as a WAV file at rate Hz, stereo (the same
// signal on both channels), 16-bit.
func writeDTMF(t *testing.T, path string, presses []dtmf.Press, rate int, duration float64) {
	t.Helper()
	mono := dtmf.Synthesize(presses, rate, duration, dtmf.SynthOptions{NoiseDB: -40, Seed: 7})
	stereo := make([]float32, 0, 2*len(mono))
	for _, s := range mono {
		stereo = append(stereo, s, s)
	}
	var buf bytes.Buffer
	if err := audio.WriteWAV(&buf, stereo, rate, 2, audio.PCM16); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

type cliResult struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	args = withDataDir(t, args)
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := run(ctx, args, &out, &errb)
	return cliResult{code, out.String(), errb.String()}
}

func readTranscript(t *testing.T, path string) transcript.Transcript {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tr transcript.Transcript
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tr
}

func TestTranscribeDTMFThroughCLI(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	src := filepath.Join(dir, "keys 44k.wav")
	writeDTMF(t, src, truthPresses, 44100, 66)
	before, _ := os.ReadFile(src)
	out := filepath.Join(dir, "out", "nested") // created by the CLI
	cache := filepath.Join(dir, "cache")

	r := runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--out", out,
		"--format", "json,srt,vtt,txt", "--cache-dir", cache, src)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	tr := readTranscript(t, filepath.Join(out, "keys 44k.json"))

	var keys []string
	for _, p := range truthPresses {
		keys = append(keys, string(p.Key))
	}
	if want := strings.Join(keys, " "); tr.Text != want {
		t.Fatalf("text %q, want %q", tr.Text, want)
	}
	var words []transcript.Word
	for _, s := range tr.Segments {
		words = append(words, s.Words...)
	}
	if len(words) != len(truthPresses) {
		t.Fatalf("%d words, want %d", len(words), len(truthPresses))
	}
	const tol = 0.050
	for i, p := range truthPresses {
		w := words[i]
		if w.Word != string(p.Key) || math.Abs(w.Start-p.Start) > tol || math.Abs(w.End-p.End) > tol {
			t.Errorf("word %d = %q %.3f..%.3f, want %q %.3f..%.3f (±%.0f ms)", i, w.Word, w.Start, w.End, string(p.Key), p.Start, p.End, tol*1000)
		}
	}
	if math.Abs(tr.Duration-66) > 0.001 || tr.Model != "dtmf" || len(tr.SHA256) != 64 || tr.Source != src {
		t.Errorf("header: duration %v model %q sha256 %q source %q", tr.Duration, tr.Model, tr.SHA256, tr.Source)
	}
	for _, ext := range []string{"srt", "vtt", "txt"} {
		if fi, err := os.Stat(filepath.Join(out, "keys 44k."+ext)); err != nil || fi.Size() == 0 {
			t.Errorf("%s output: %v", ext, err)
		}
	}
	if after, _ := os.ReadFile(src); !bytes.Equal(before, after) {
		t.Error("the source file changed")
	}

	// The server saw exactly the chunks of this file: 66 s in chunks of at
	// most 30 s is three requests of batch 1.
	st := runCLI(t, "status", "--server", addr, "--json")
	if st.code != 0 {
		t.Fatalf("status exit %d: %s", st.code, st.stderr)
	}
	var status inference.ServerStatus
	if err := json.Unmarshal([]byte(st.stdout), &status); err != nil {
		t.Fatalf("status --json printed non-JSON: %v\n%s", err, st.stdout)
	}
	if !status.Live || !status.Ready || len(status.Models) != 1 || !status.Models[0].Ready {
		t.Fatalf("status: %+v", status)
	}
	if m := status.Models[0]; m.InferenceCount != 3 || m.ExecutionCount != 3 {
		t.Errorf("server counted %d inferences, %d executions; want 3, 3", m.InferenceCount, m.ExecutionCount)
	}
}

func TestStatusJSONKeys(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	r := runCLI(t, "status", "--json", "--server", addr)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"live", "ready", "version", "models"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("status --json lacks %q: %s", k, r.stdout)
		}
	}
	m := raw["models"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "ready", "versions", "inference_count", "execution_count"} {
		if _, ok := m[k]; !ok {
			t.Errorf("model entry lacks %q: %v", k, m)
		}
	}
}

func TestBadInputsFailAloneAndLeaveNoOutput(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	good1, good2 := filepath.Join(dir, "good1.wav"), filepath.Join(dir, "good2.wav")
	writeDTMF(t, good1, truthPresses[:3], 48000, 13)
	writeDTMF(t, good2, truthPresses[:1], 22050, 2)
	notAudio := filepath.Join(dir, "notes.wav")
	os.WriteFile(notAudio, []byte("these are my meeting notes, not audio\n"), 0o644)
	empty := filepath.Join(dir, "empty.wav")
	os.WriteFile(empty, nil, 0o644)
	missing := filepath.Join(dir, "missing.wav")
	out := filepath.Join(dir, "out")

	r := runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--out", out, "--format", "json,srt",
		"--cache-dir", filepath.Join(dir, "cache"), good1, notAudio, empty, missing, good2)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 3 {
		t.Fatalf("want one stderr line per failure, got:\n%s", r.stderr)
	}
	for i, c := range []struct{ path, reason string }{
		{notAudio, "not an audio file"}, {empty, "empty"}, {missing, "not found"},
	} {
		if !strings.Contains(lines[i], c.path) || !strings.Contains(lines[i], c.reason) {
			t.Errorf("stderr line %q should name %s and say %q", lines[i], c.path, c.reason)
		}
	}
	if got := readTranscript(t, filepath.Join(out, "good1.json")).Text; got != "1 5 9" {
		t.Errorf("good1: %q", got)
	}
	if got := readTranscript(t, filepath.Join(out, "good2.json")).Text; got != "1" {
		t.Errorf("good2: %q", got)
	}
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "good1.json good1.srt good2.json good2.srt" {
		t.Errorf("outputs: %v", names)
	}
}

func TestUnknownModelFailsAtOnceListingModels(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	src := filepath.Join(dir, "a.wav")
	writeDTMF(t, src, truthPresses[:1], 16000, 1)
	start := time.Now()
	r := runCLI(t, "transcribe", "--server", addr, "--model", "parakeet-tdt-0.6b-v2", "--out", dir, src)
	if r.code != 1 || !strings.Contains(r.stderr, `"parakeet-tdt-0.6b-v2"`) || !strings.Contains(r.stderr, "dtmf") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to fail", d)
	}
}

func TestModelStillLoadingIsWaitedFor(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{ReadyAfter: 1500 * time.Millisecond})
	dir := t.TempDir()
	src := filepath.Join(dir, "a.wav")
	writeDTMF(t, src, truthPresses[:2], 16000, 4)
	r := runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--out", dir, "--cache-dir", filepath.Join(dir, "c"), src)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "waiting for model") {
		t.Errorf("no waiting notice on stderr: %q", r.stderr)
	}
	if got := readTranscript(t, filepath.Join(dir, "a.json")).Text; got != "1 5" {
		t.Errorf("text %q", got)
	}
}

func TestUnreachableServer(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "a.wav")
	writeDTMF(t, src, truthPresses[:1], 16000, 1)
	r := runCLI(t, "transcribe", "--server", "127.0.0.1:1", "--model", "dtmf", "--out", dir, src)
	if r.code != 1 || !strings.Contains(r.stderr, "cannot reach") || !strings.Contains(r.stderr, "8001") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, "status", "--server", "127.0.0.1:1", "--json")
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("status: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"transcribe"}, {"transcribe", "--format", "doc", "x.wav"}} {
		if r := runCLI(t, args...); r.code != 2 {
			t.Errorf("%q: exit %d, want 2", args, r.code)
		}
	}
}
