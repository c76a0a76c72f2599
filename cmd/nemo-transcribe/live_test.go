package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

func TestLiveFromFileJSON(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	src := filepath.Join(dir, "keys.wav")
	// The presses up to 31.6 s, then a key held for 6 s: partials come
	// while it is held, even at 20 times real time.
	presses := append(truthPresses[:8:8], dtmf.Press{Key: '5', Start: 34, End: 40})
	writeDTMF(t, src, presses, 44100, 42)
	out := filepath.Join(dir, "out")
	r := runCLI(t, "live", "--server", addr, "--model", "dtmf", "--from-file", src, "--speed", "20", "--json",
		"--out", out, "--format", "json,txt", "--data-dir", filepath.Join(dir, "data"))
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var finals []transcript.Word
	partials := 0
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &keys); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		for _, k := range []string{"type", "start", "end", "text", "words", "latency_ms"} {
			if _, ok := keys[k]; !ok {
				t.Errorf("line %s has no %q", line, k)
			}
		}
		var l liveLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		switch l.Type {
		case "final":
			finals = append(finals, l.Words...)
			if !(l.LatencyMs > 0) {
				t.Errorf("final %s without a latency", line)
			}
		case "partial":
			partials++
		default:
			t.Errorf("line of type %q", l.Type)
		}
	}
	if len(finals) != len(presses) {
		t.Fatalf("finals heard %v\nstdout:\n%s", finals, r.stdout)
	}
	for i, w := range finals {
		p := presses[i]
		if w.Word != string(p.Key) || math.Abs(w.Start-p.Start) > 0.05 || math.Abs(w.End-p.End) > 0.05 {
			t.Errorf("final word %d: %+v, pressed %c %.2f-%.2f", i, w, p.Key, p.Start, p.End)
		}
	}
	if partials == 0 {
		t.Error("no partials")
	}
	// The outputs are the transcribe command's, with the same words.
	tr := readTranscript(t, filepath.Join(out, "keys.json"))
	var words []transcript.Word
	for _, s := range tr.Segments {
		words = append(words, s.Words...)
	}
	if len(words) != len(presses) || tr.SHA256 == "" || !strings.HasSuffix(tr.Source, ".wav") {
		t.Errorf("exported %d words, source %q, sha %q", len(words), tr.Source, tr.SHA256)
	}
	// The session is in the history, and plays from its recording.
	h := runCLI(t, "history", "list", "--json", "--data-dir", filepath.Join(dir, "data"))
	if h.code != exitOK || !strings.Contains(h.stdout, "live-") {
		t.Errorf("history list: %d %s %s", h.code, h.stdout, h.stderr)
	}
}

func TestLiveWithoutAFileIsAUsageError(t *testing.T) {
	r := runCLI(t, "live", "--server", "127.0.0.1:1", "--model", "dtmf")
	if r.code != exitUsage || !strings.Contains(r.stderr, "microphone") || !strings.Contains(r.stderr, "--from-file") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{"live", "--from-file", "x.wav", "--speed", "0"},
		{"live", "--from-file", "x.wav", "--format", "doc", "--out", "o"},
		{"live", "--from-file", "x.wav", "extra"},
	} {
		if r := runCLI(t, args...); r.code != exitUsage {
			t.Errorf("%v: exit %d (%s)", args, r.code, r.stderr)
		}
	}
}

// lineWatch is stdout that signals its first "final" line.
type lineWatch struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	final chan struct{}
	once  sync.Once
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if bytes.Contains(w.buf.Bytes(), []byte(`"type":"final"`)) {
		w.once.Do(func() { close(w.final) })
	}
	return len(p), nil
}

func TestLiveInterruptedKeepsWhatWasHeard(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	src := filepath.Join(dir, "keys.wav")
	writeDTMF(t, src, truthPresses, 44100, 66)
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &lineWatch{final: make(chan struct{})}
	var errb bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"live", "--server", addr, "--model", "dtmf", "--from-file", src, "--speed", "2", "--json",
			"--out", out, "--format", "json", "--data-dir", filepath.Join(dir, "data")}, w, &errb)
	}()
	select {
	case <-w.final:
	case <-time.After(time.Minute):
		t.Fatal("no final")
	}
	cancel() // Ctrl-C
	var code int
	select {
	case code = <-done:
	case <-time.After(time.Minute):
		t.Fatal("live did not end after the interrupt")
	}
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	tr := readTranscript(t, filepath.Join(out, "keys.json"))
	if len(tr.Segments) == 0 || tr.Duration >= 60 || tr.Segments[0].Words[0].Word != "1" {
		t.Errorf("after the interrupt: %+v", tr)
	}
}
