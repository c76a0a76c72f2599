package live

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// demo is cmd/dtmf-synth's demo script: presses close together, one
// short one (80 ms), pauses from 0.2 s to 8 s.
var demo = []dtmf.Press{
	{Key: '1', Start: 1.0, End: 1.2}, {Key: '2', Start: 1.5, End: 1.7}, {Key: '3', Start: 2.0, End: 2.2},
	{Key: 'A', Start: 4.0, End: 4.15}, {Key: '4', Start: 8.2, End: 8.5}, {Key: '5', Start: 12.0, End: 12.08},
	{Key: '6', Start: 12.3, End: 12.38}, {Key: '*', Start: 20.0, End: 20.25}, {Key: '0', Start: 26.5, End: 26.7},
	{Key: '#', Start: 28.4, End: 28.6}, {Key: '7', Start: 29.1, End: 29.22}, {Key: '8', Start: 30.5, End: 30.7},
	{Key: '9', Start: 33.0, End: 33.2}, {Key: 'B', Start: 38.0, End: 38.4}, {Key: 'C', Start: 41.6, End: 41.7},
	{Key: 'D', Start: 43.0, End: 43.2},
}

func demoAudio() []float32 {
	return dtmf.Synthesize(demo, SampleRate, 45, dtmf.SynthOptions{NoiseDB: -40, Seed: 1})
}

// offlineWords transcribes samples as a file, through the engine.
func offlineWords(t *testing.T, addr string, samples []float32) []transcript.Word {
	t.Helper()
	path := filepath.Join(t.TempDir(), "offline.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := audio.WriteWAV(f, samples, SampleRate, 1, audio.Float32); err != nil {
		t.Fatal(err)
	}
	f.Close()
	e, err := transcribe.Open(transcribe.Config{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	res, err := e.Transcribe(context.Background(), transcribe.Request{Path: path, Server: addr, Model: "dtmf", Timestamps: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var words []transcript.Word
	for _, s := range res.Transcript.Segments {
		words = append(words, s.Words...)
	}
	return words
}

func openModel(t *testing.T, cfg inference.Config) *inference.Model {
	t.Helper()
	srv, err := inference.ConnectConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	m, err := srv.OpenModel(context.Background(), "dtmf", inference.WaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// recorder keeps a session's events and lets tests wait for one.
type recorder struct {
	mu     sync.Mutex
	events []Event
	ch     chan struct{}
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{}, 1)} }

func (r *recorder) emit(ev Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.ch <- struct{}{}:
	default:
	}
}

func (r *recorder) of(t EventType) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

// wait blocks until cond holds over the events, or fails the test after
// a generous deadline.
func (r *recorder) wait(t *testing.T, what string, cond func([]Event) bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		ok := cond(r.events)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func count(evs []Event, f func(Event) bool) int {
	n := 0
	for _, e := range evs {
		if f(e) {
			n++
		}
	}
	return n
}

func finalWords(evs []Event) []transcript.Word {
	var out []transcript.Word
	for _, e := range evs {
		if e.Type == EventFinal {
			out = append(out, e.Words...)
		}
	}
	return out
}

func keys(ws []transcript.Word) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString(w.Word)
	}
	return b.String()
}

// sameWords checks the live words against the offline ones: the same
// keys, times within 50 ms.
func sameWords(t *testing.T, live, offline []transcript.Word) {
	t.Helper()
	if keys(live) != keys(offline) {
		t.Fatalf("live heard %q, offline %q", keys(live), keys(offline))
	}
	for i := range live {
		if math.Abs(live[i].Start-offline[i].Start) > 0.05 || math.Abs(live[i].End-offline[i].End) > 0.05 {
			t.Errorf("key %s: live %.3f-%.3f, offline %.3f-%.3f", live[i].Word, live[i].Start, live[i].End, offline[i].Start, offline[i].End)
		}
	}
}

func feed(t *testing.T, s *Session, x []float32, frame int) {
	t.Helper()
	for len(x) > 0 {
		n := min(frame, len(x))
		if err := s.Feed(x[:n]); err != nil {
			t.Fatal(err)
		}
		x = x[n:]
	}
}

func TestDTMFLiveMatchesOffline(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	samples := demoAudio()
	want := offlineWords(t, addr, samples)
	if len(want) != len(demo) {
		t.Fatalf("offline heard %q", keys(want))
	}
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec := newRecorder()
	clk := NewFakeClock(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	s, err := New(Config{Recognizer: openModel(t, inference.Config{Addresses: []string{addr}}), Options: inference.Options{Timestamps: true},
		Store: db, Dir: filepath.Join(dir, "live"), Server: addr, Model: "dtmf", Clock: clk, Emit: rec.emit})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, s, samples, 320) // 20 ms frames, as fast as they go
	res, err := s.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sameWords(t, finalWords(rec.events), want)

	// The history entry holds the same words, and the audio file what was fed.
	_, tr, err := db.Transcript(context.Background(), res.HistoryID)
	if err != nil {
		t.Fatal(err)
	}
	var stored []transcript.Word
	for _, seg := range tr.Segments {
		stored = append(stored, seg.Words...)
	}
	sameWords(t, stored, want)
	if tr.Source != res.AudioPath || tr.SHA256 == "" || math.Abs(tr.Duration-45) > 1e-9 {
		t.Errorf("entry source %q sha %q duration %v", tr.Source, tr.SHA256, tr.Duration)
	}
	checkAudio(t, res.AudioPath, samples)
	if n, _ := db.CountChunks(context.Background(), Plan(res.ID)); n != 0 {
		t.Errorf("%d finals left as chunks after the entry was saved", n)
	}
	if _, err := os.Stat(notePath(filepath.Join(dir, "live"), res.ID)); !os.IsNotExist(err) {
		t.Errorf("the session's note is still there: %v", err)
	}
	// Finals come in order, each with its own utterance.
	fin := rec.of(EventFinal)
	for i := 1; i < len(fin); i++ {
		if fin[i].Start < fin[i-1].End || fin[i].Utterance <= fin[i-1].Utterance {
			t.Errorf("final %d (%v) after %v", i, fin[i], fin[i-1])
		}
	}
	if lv := rec.of(EventLevel); len(lv) < 800 || lv[0].Level > -40 {
		t.Errorf("%d level events, first %+v", len(lv), lv)
	}
}

// checkAudio decodes the session's file and compares it with what was fed.
func checkAudio(t *testing.T, path string, fed []float32) {
	t.Helper()
	d, err := audio.Open(path, audio.Options{Decoder: audio.DecoderBuiltin})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got := make([]float32, 0, len(fed))
	buf := make([]float32, 4096)
	for {
		n, err := d.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	if len(got) != len(fed) {
		t.Fatalf("the audio file holds %d samples, %d were fed", len(got), len(fed))
	}
	for i := range got {
		if math.Abs(float64(got[i]-fed[i])) > 1.0/32768 {
			t.Fatalf("sample %d: %v in the file, %v fed", i, got[i], fed[i])
		}
	}
}

// counting wraps a Recognizer and counts the partials in flight.
type counting struct {
	Recognizer
	inFlight, most atomic.Int32
	partials       atomic.Int32
}

func (c *counting) Recognize(ctx context.Context, id int, x []float32, o inference.Options) (transcript.ChunkResult, error) {
	if id < 0 {
		n := c.inFlight.Add(1)
		defer c.inFlight.Add(-1)
		c.partials.Add(1)
		for {
			m := c.most.Load()
			if n <= m || c.most.CompareAndSwap(m, n) {
				break
			}
		}
	}
	return c.Recognizer.Recognize(ctx, id, x, o)
}

func TestFinalsNeverSkippedOnASlowServer(t *testing.T) {
	// Every request takes 40 ms while audio comes in far faster than
	// real time: finals queue up, partials give way, and every final is
	// heard in the end.
	var arrivals atomic.Int32
	addr := tritontest.Start(t, tritontest.Options{Latency: 40 * time.Millisecond,
		Inspect: func(context.Context, *pb.ModelInferRequest) { arrivals.Add(1) }})
	samples := demoAudio()
	want := offlineWords(t, addr, samples)
	arrivals.Store(0)
	rec := newRecorder()
	m := &counting{Recognizer: openModel(t, inference.Config{Addresses: []string{addr}})}
	s, err := New(Config{Recognizer: m, Options: inference.Options{Timestamps: true}, PartialEvery: 100 * time.Millisecond,
		Clock: NewFakeClock(time.Unix(0, 0)), Emit: rec.emit})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, s, samples, SampleRate/50)
	if _, err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if got := m.most.Load(); got > 1 {
		t.Errorf("%d partials in flight at once", got)
	}
	// A partial cancelled by its utterance's final may never reach the
	// server; every final does, once.
	if n := int(arrivals.Load()); n < st.Finals || n > st.PartialsSent+st.Finals || st.Retries != 0 {
		t.Errorf("the server saw %d requests for %d partials and %d finals (%d retried)", n, st.PartialsSent, st.Finals, st.Retries)
	}
	sameWords(t, finalWords(rec.events), want)
}

func TestPartialsNeverPileUp(t *testing.T) {
	// The server holds every partial until the test lets it go: while one
	// is held, the partials that fall due are skipped, never sent beside
	// it; finals are not held and go at once.
	arrived := make(chan struct{}, 100)
	release := make(chan struct{})
	addr := tritontest.Start(t, tritontest.Options{Inspect: func(ctx context.Context, req *pb.ModelInferRequest) {
		if strings.HasPrefix(req.Id, "-") {
			arrived <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	}})
	presses := []dtmf.Press{{Key: '5', Start: 1, End: 6}, {Key: '7', Start: 7, End: 7.2}}
	samples := dtmf.Synthesize(presses, SampleRate, 8, dtmf.SynthOptions{NoiseDB: -40, Seed: 4})
	rec := newRecorder()
	m := &counting{Recognizer: openModel(t, inference.Config{Addresses: []string{addr}})}
	s, err := New(Config{Recognizer: m, Options: inference.Options{Timestamps: true}, PartialEvery: 100 * time.Millisecond,
		Clock: NewFakeClock(time.Unix(0, 0)), Emit: rec.emit})
	if err != nil {
		t.Fatal(err)
	}
	returned := make(chan struct{}, 100)
	s.partialDone = func() { returned <- struct{}{} }
	at := func(sec float64) int { return int(sec * SampleRate) }
	waitFor := func(ch chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
		}
	}
	feed(t, s, samples[:at(1.5)], 320)
	waitFor(arrived, "the first partial at the server")
	feed(t, s, samples[at(1.5):at(4)], 320) // 25 partials fall due meanwhile
	if st := s.Stats(); st.PartialsSent != 1 || st.PartialsSkipped < 20 {
		t.Fatalf("with one partial held: %+v", st)
	}
	release <- struct{}{}
	waitFor(returned, "the held partial's answer")
	rec.wait(t, "the first partial", func(evs []Event) bool { return count(evs, func(e Event) bool { return e.Type == EventPartial }) == 1 })
	feed(t, s, samples[at(4):at(4.2)], 320) // the next one goes
	waitFor(arrived, "the second partial at the server")
	close(release) // from here on the server answers at once
	waitFor(returned, "the second partial's answer")
	rec.wait(t, "the second partial", func(evs []Event) bool { return count(evs, func(e Event) bool { return e.Type == EventPartial }) == 2 })
	feed(t, s, samples[at(4.2):], 320)
	if _, err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := m.most.Load(); got != 1 {
		t.Errorf("%d partials in flight at once", got)
	}
	if fin := rec.of(EventFinal); len(fin) != 2 || fin[0].Text != "5" || fin[1].Text != "7" {
		t.Errorf("finals %+v", fin)
	}
	if p := rec.of(EventPartial); len(p) < 2 || p[0].Words[0].End > 1.5 || p[1].Words[0].End < 4 {
		t.Errorf("partials %+v", p)
	}
}

func TestPartialsWhileAKeyIsHeld(t *testing.T) {
	// A key held for 3 s, fed in real time on a fake clock: a partial every
	// 300 ms of audio, each hearing the key so far.
	addr := tritontest.Start(t, tritontest.Options{})
	presses := []dtmf.Press{{Key: '5', Start: 1, End: 4}}
	samples := dtmf.Synthesize(presses, SampleRate, 6, dtmf.SynthOptions{NoiseDB: -40, Seed: 2})
	rec := newRecorder()
	clk := NewFakeClock(time.Unix(0, 0))
	s, err := New(Config{Recognizer: openModel(t, inference.Config{Addresses: []string{addr}}), Options: inference.Options{Timestamps: true},
		Clock: clk, Emit: rec.emit})
	if err != nil {
		t.Fatal(err)
	}
	returned := make(chan struct{}, 1)
	s.partialDone = func() { returned <- struct{}{} }
	const step = SampleRate / 50 // 20 ms
	sent := 0
	for i := 0; i < len(samples); i += step {
		if err := s.Feed(samples[i:min(i+step, len(samples))]); err != nil {
			t.Fatal(err)
		}
		clk.Advance(20 * time.Millisecond)
		// Let a partial that fell due come back before the next one does,
		// as it would at real time on an idle server.
		st := s.Stats()
		if st.Utterances > 0 {
			rec.wait(t, "the final", func(evs []Event) bool {
				return count(evs, func(e Event) bool { return e.Type == EventFinal }) >= st.Utterances
			})
		}
		if st.PartialsSent > sent {
			sent = st.PartialsSent
			select {
			case <-returned:
			case <-time.After(30 * time.Second):
				t.Fatal("a partial never came back")
			}
		}
	}
	if _, err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	parts := rec.of(EventPartial)
	if len(parts) < 8 {
		t.Fatalf("%d partials over a 3 s press", len(parts))
	}
	for i, p := range parts {
		if p.Text != "5" || len(p.Words) != 1 || math.Abs(p.Start-1) > 0.02 {
			t.Errorf("partial %d: %+v", i, p)
		}
		if i > 0 && p.Words[0].End < parts[i-1].Words[0].End {
			t.Errorf("partial %d went back: %v after %v", i, p.Words[0].End, parts[i-1].Words[0].End)
		}
	}
	fin := rec.of(EventFinal)
	if len(fin) != 1 || fin[0].Text != "5" || math.Abs(fin[0].End-4) > 0.02 {
		t.Fatalf("finals %+v", fin)
	}
	// On the fake clock the final's latency is the pause the detector
	// waited (450 ms, to the 20 ms step) plus nothing for the server (or
	// one step, when the test's clock moved on before the final came).
	if fin[0].PauseMs < 440 || fin[0].PauseMs > 480 || fin[0].LatencyMs < fin[0].PauseMs || fin[0].LatencyMs > fin[0].PauseMs+20 {
		t.Errorf("latency %v ms, pause %v ms", fin[0].LatencyMs, fin[0].PauseMs)
	}
}

// checkAudioPrefix checks a file a crash left: read as it is (no repair),
// it holds at least least samples of fed, all equal to what was fed.
func checkAudioPrefix(t *testing.T, path string, fed []float32, least int) {
	t.Helper()
	d, err := audio.Open(path, audio.Options{Decoder: audio.DecoderBuiltin})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var got []float32
	buf := make([]float32, 4096)
	for {
		n, err := d.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	if len(got) < least || len(got) > len(fed) {
		t.Fatalf("the crashed file holds %d samples: want %d to %d", len(got), least, len(fed))
	}
	for i := range got {
		if math.Abs(float64(got[i]-fed[i])) > 1.0/32768 {
			t.Fatalf("sample %d: %v in the file, %v fed", i, got[i], fed[i])
		}
	}
}

func TestLongUtteranceSplitAtAPause(t *testing.T) {
	// Presses every 0.35 s for 8 s, with no pause the detector ends an
	// utterance at, and a model that takes 3 s: the utterance is cut into
	// clips of at most 3 s, each at a gap between presses.
	addr := tritontest.Start(t, tritontest.Options{})
	var presses []dtmf.Press
	ks := "0123456789ABCD*#"
	for i := 0; i < 23; i++ {
		at := 1 + 0.35*float64(i)
		presses = append(presses, dtmf.Press{Key: rune(ks[i%len(ks)]), Start: at, End: at + 0.15})
	}
	samples := dtmf.Synthesize(presses, SampleRate, 10, dtmf.SynthOptions{NoiseDB: -40, Seed: 3})
	want := offlineWords(t, addr, samples)
	if len(want) != len(presses) {
		t.Fatalf("offline heard %q", keys(want))
	}
	rec := newRecorder()
	s, err := New(Config{Recognizer: openModel(t, inference.Config{Addresses: []string{addr}}), Options: inference.Options{Timestamps: true},
		ChunkSeconds: 3, Clock: NewFakeClock(time.Unix(0, 0)), Emit: rec.emit})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, s, samples, 320)
	if _, err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	fin := rec.of(EventFinal)
	splits := count(fin, func(e Event) bool { return e.Split })
	if len(fin) < 3 || splits < 2 {
		t.Fatalf("%d finals, %d split", len(fin), splits)
	}
	for _, f := range fin {
		if f.End-f.Start > 3 {
			t.Errorf("final %+v longer than the model's 3 s", f)
		}
	}
	sameWords(t, finalWords(rec.events), want)
}

func TestFlushEndsTheUtteranceAtOnce(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	samples := dtmf.Synthesize([]dtmf.Press{{Key: '9', Start: 0.5, End: 0.8}}, SampleRate, 1, dtmf.SynthOptions{NoiseDB: -40, Seed: 5})
	rec := newRecorder()
	s, err := New(Config{Recognizer: openModel(t, inference.Config{Addresses: []string{addr}}), Options: inference.Options{Timestamps: true},
		Clock: NewFakeClock(time.Unix(0, 0)), Emit: rec.emit})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, s, samples, 320) // 200 ms after the key: no pause yet
	s.Flush()
	rec.wait(t, "the final", finalsAtLeast(1))
	if fin := rec.of(EventFinal); fin[0].Text != "9" {
		t.Errorf("final %+v", fin[0])
	}
	if _, err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.of(EventFinal)); n != 1 {
		t.Errorf("%d finals", n)
	}
}

func TestFeedPCM16(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	samples := dtmf.Synthesize([]dtmf.Press{{Key: '3', Start: 0.5, End: 0.8}}, SampleRate, 2, dtmf.SynthOptions{NoiseDB: -40, Seed: 6})
	b := make([]byte, 0, 2*len(samples))
	for _, v := range samples {
		b = append(b, byte(uint16(pcm16(v))), byte(uint16(pcm16(v))>>8))
	}
	rec := newRecorder()
	dir := t.TempDir()
	s, err := New(Config{Recognizer: openModel(t, inference.Config{Addresses: []string{addr}}), Options: inference.Options{Timestamps: true},
		Dir: dir, Clock: NewFakeClock(time.Unix(0, 0)), Emit: rec.emit})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(b); i += 640 { // 20 ms frames, as a UI sends them
		if err := s.FeedPCM16(b[i:min(i+640, len(b))]); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fin := rec.of(EventFinal); len(fin) != 1 || fin[0].Text != "3" || math.Abs(fin[0].Start-0.5) > 0.02 {
		t.Errorf("finals %+v", fin)
	}
	checkAudio(t, res.AudioPath, samples)
}

// A capture that starts with digital silence (browsers' often do) must not
// teach the detector a floor under the room's noise: every pause after it
// still ends an utterance.
func TestLeadingDigitalSilenceDoesNotHoldTheUtteranceOpen(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	keys := []dtmf.Press{{Key: '1', Start: 0.8, End: 1.2}, {Key: '2', Start: 2.2, End: 2.6}, {Key: '3', Start: 3.6, End: 4.0}}
	samples := dtmf.Synthesize(keys, SampleRate, 5, dtmf.SynthOptions{NoiseDB: -40, Seed: 7})
	cases := []struct {
		name    string
		silence float64 // seconds of zeros before the recording
	}{
		{"no silence", 0},
		{"a frame of zeros", 0.01},
		{"half a second of zeros", 0.5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := append(make([]float32, int(tc.silence*SampleRate)), samples...)
			rec := newRecorder()
			s, err := New(Config{Recognizer: openModel(t, inference.Config{Addresses: []string{addr}}), Options: inference.Options{Timestamps: true},
				Clock: NewFakeClock(time.Unix(0, 0)), Emit: rec.emit})
			if err != nil {
				t.Fatal(err)
			}
			feed(t, s, x, 320)
			if _, err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range rec.of(EventFinal) {
				got = append(got, f.Text)
			}
			if strings.Join(got, "|") != "1|2|3" {
				t.Errorf("finals %q, want one per key", got)
			}
		})
	}
}
