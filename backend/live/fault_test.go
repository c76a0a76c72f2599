package live

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
)

func openStore(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func storedWords(t *testing.T, db *store.DB, id int64) []transcript.Word {
	t.Helper()
	_, tr, err := db.Transcript(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []transcript.Word
	for _, s := range tr.Segments {
		out = append(out, s.Words...)
	}
	return out
}

func finalsAtLeast(n int) func([]Event) bool {
	return func(evs []Event) bool { return count(evs, func(e Event) bool { return e.Type == EventFinal }) >= n }
}

func statusSeen(kind string) func([]Event) bool {
	return func(evs []Event) bool {
		return count(evs, func(e Event) bool { return e.Type == EventStatus && e.Status == kind }) > 0
	}
}

func TestServerRestartMidSessionLosesNothing(t *testing.T) {
	p := tritontest.StartProcess(t, tritontest.Options{})
	samples := demoAudio()
	want := offlineWords(t, p.Addr(), samples)
	dir := t.TempDir()
	db := openStore(t, filepath.Join(dir, "data"))
	rec := newRecorder()
	// The client gives up on a request quickly, so the session's own
	// queue and backoff are what carry the finals over the outage.
	m := openModel(t, inference.Config{Addresses: []string{p.Addr()}, ReconnectDelay: 20 * time.Millisecond,
		Retry: inference.RetryPolicy{Attempts: 2, Delay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond}})
	s, err := New(Config{Recognizer: m, Options: inference.Options{Timestamps: true}, Store: db, Dir: filepath.Join(dir, "live"),
		Model: "dtmf", Emit: rec.emit, Retry: RetryPolicy{Attempts: 1000, Delay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	// Waiting finals keep at most a second of audio in memory: the rest
	// is read back from the recording when the server is back.
	s.mu.Lock()
	s.maxQueued = SampleRate
	s.mu.Unlock()
	at := func(sec float64) int { return int(sec * SampleRate) }
	feed(t, s, samples[:at(10)], 320)
	rec.wait(t, "the first three finals", finalsAtLeast(3))
	p.Stop() // a crash: calls in flight fail, nothing listens
	feed(t, s, samples[at(10):at(25)], 320)
	rec.wait(t, "a notice that the server is away", statusSeen(StatusOffline))
	if got := count(rec.of(EventFinal), func(Event) bool { return true }); got != 3 {
		t.Fatalf("%d finals while the server was down", got)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	feed(t, s, samples[at(25):], 320)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := s.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Untranscribed) > 0 {
		t.Errorf("untranscribed: %v", res.Untranscribed)
	}
	if st := s.Stats(); st.Spilled == 0 || st.Retries == 0 {
		t.Errorf("stats %+v: nothing waited out of memory", st)
	}
	sameWords(t, finalWords(rec.events), want)
	sameWords(t, storedWords(t, db, res.HistoryID), want)
	if !statusSeen(StatusOnline)(rec.events) {
		t.Error("no notice that the server was back")
	}
	checkAudio(t, res.AudioPath, samples)
}

func TestCrashKeepsAudioAndFinals(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	samples := demoAudio()
	want := offlineWords(t, addr, samples)
	dir := t.TempDir()
	data, liveDir := filepath.Join(dir, "data"), filepath.Join(dir, "live")
	db := openStore(t, data)
	rec := newRecorder()
	clk := NewFakeClock(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	s, err := New(Config{Recognizer: openModel(t, inference.Config{Addresses: []string{addr}}), Options: inference.Options{Timestamps: true},
		Store: db, Dir: liveDir, Model: "dtmf", Clock: clk, Emit: rec.emit})
	if err != nil {
		t.Fatal(err)
	}
	// 32 s fed in real-time steps on the fake clock: the file is synced
	// as it goes, and every utterance's final stored.
	const step = SampleRate / 50
	cut := 32 * SampleRate
	for i := 0; i < cut; i += step {
		if err := s.Feed(samples[i:min(i+step, cut)]); err != nil {
			t.Fatal(err)
		}
		clk.Advance(20 * time.Millisecond)
	}
	rec.wait(t, "the finals up to 32 s", finalsAtLeast(9)) // up to the '8' at 30.5-30.7 s
	// What the disk holds now is what a crash (or power cut) leaves: the
	// file as last synced is all there, read as it is.
	crashed := filepath.Join(dir, "crashed.wav")
	copyFile(t, s.AudioPath(), crashed)
	checkAudioPrefix(t, crashed, samples[:cut], cut-2*SampleRate)

	s.Abandon() // the process dies: no Close
	db.Close()
	db = openStore(t, data)
	res, err := Recover(context.Background(), liveDir, db, RecoverOptions{Now: func() time.Time { return time.Now().Add(time.Minute) }})
	if err != nil || len(res) != 1 {
		t.Fatalf("recovered %v, %v", res, err)
	}
	checkAudio(t, res[0].AudioPath, samples[:cut])
	var upTo31 []transcript.Word
	for _, w := range want {
		if w.End < 31 {
			upTo31 = append(upTo31, w)
		}
	}
	sameWords(t, storedWords(t, db, res[0].HistoryID), upTo31)
	if left, _ := filepath.Glob(filepath.Join(liveDir, "*.json")); len(left) != 0 {
		t.Errorf("notes left: %v", left)
	}
	// A second Recover finds nothing to do.
	if again, err := Recover(context.Background(), liveDir, db, RecoverOptions{}); err != nil || len(again) != 0 {
		t.Errorf("second recover: %v, %v", again, err)
	}
}

func TestRecoverLeavesARunningSessionAlone(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	s, err := New(Config{Recognizer: openModel(t, inference.Config{Addresses: []string{addr}}), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := Recover(context.Background(), dir, nil, RecoverOptions{}); err != nil || len(res) != 0 {
		t.Fatalf("recovered a running session: %v, %v", res, err)
	}
	if _, err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAudioSyncedWithinTheBound(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	clk := NewFakeClock(time.Unix(0, 0))
	s, err := New(Config{Recognizer: openModel(t, inference.Config{Addresses: []string{addr}}), Dir: dir, Clock: clk, SyncEvery: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	synced := make(chan struct{}, 1)
	s.mu.Lock()
	s.syncHook = func() {
		select {
		case synced <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
	x := make([]float32, SampleRate/2)
	if err := s.Feed(x); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	dirty := s.wav.dirty
	s.mu.Unlock()
	if !dirty {
		t.Fatal("fresh audio counted as synced")
	}
	// The feed pauses: the background sync does it once the bound is up.
	clk.BlockUntil(1) // the sync loop's timer
	clk.Advance(2 * time.Second)
	select {
	case <-synced:
	case <-time.After(10 * time.Second):
		t.Fatal("the audio was not synced 2 s after it was written")
	}
	s.mu.Lock()
	dirty = s.wav.dirty
	s.mu.Unlock()
	if dirty {
		t.Fatal("still unsynced")
	}
	if _, err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
