package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/live"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// liveKeys: presses with pauses between them, as someone dictating.
var liveKeys = []dtmf.Press{
	{Key: '1', Start: 0.5, End: 1.2}, {Key: '2', Start: 1.9, End: 2.2}, {Key: '3', Start: 2.9, End: 3.2},
	{Key: '4', Start: 4.5, End: 4.8}, {Key: '5', Start: 5.6, End: 5.9},
}

func pcm16(x []float32) []byte {
	b := make([]byte, 2*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(math.Round(float64(max(-1, min(v, 0.99997)))*32767))))
	}
	return b
}

// liveEvents records the app's live events and wakes waiters.
type liveEvents struct {
	mu     sync.Mutex
	events []LiveEvent
	other  []string
	wake   chan struct{}
}

func newLiveEvents() *liveEvents { return &liveEvents{wake: make(chan struct{}, 1)} }

func (r *liveEvents) emit(name string, data ...any) {
	r.mu.Lock()
	if ev, ok := data[0].(LiveEvent); ok && name == EventLive {
		r.events = append(r.events, ev)
	} else {
		r.other = append(r.other, name)
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *liveEvents) count(typ live.EventType, status string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Type == typ && (status == "" || e.Status == status) {
			n++
		}
	}
	return n
}

// wait polls cond at every event, for up to 30 s.
func (r *liveEvents) wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !cond() {
		select {
		case <-r.wake:
		case <-deadline:
			t.Fatalf("no %s within 30 s; events: %d finals, %d partials, %d statuses", what,
				r.count(live.EventFinal, ""), r.count(live.EventPartial, ""), r.count(live.EventStatus, ""))
		}
	}
}

func (r *liveEvents) finalText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var keys []string
	for _, e := range r.events {
		if e.Type == live.EventFinal {
			keys = append(keys, strings.Fields(e.Text)...)
		}
	}
	return strings.Join(keys, " ")
}

type liveFixture struct {
	app  *App
	rec  *liveEvents
	db   *store.DB
	dir  string
	proc *tritontest.Process
}

// newLiveApp is an app over a real engine and store, talking to a
// devserver process that a test can stop and start.
func newLiveApp(t *testing.T) *liveFixture {
	t.Helper()
	proc := tritontest.StartProcess(t, tritontest.Options{})
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// Quick client retries: the session's own queue carries finals over
	// an outage.
	eng, err := transcribe.Open(transcribe.Config{Store: db, CacheDir: t.TempDir(), Connect: func(addr string) (*inference.Server, error) {
		return inference.ConnectConfig(inference.Config{Addresses: []string{addr}, ReconnectDelay: 20 * time.Millisecond,
			Retry: inference.RetryPolicy{Attempts: 2, Delay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond}})
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	settings, err := config.OpenSettings(filepath.Join(dir, config.SettingsFileName))
	if err != nil {
		t.Fatal(err)
	}
	s := settings.Get()
	s.Server, s.Model, s.Timestamps = proc.Addr(), "dtmf", true
	if _, err := settings.Set(s); err != nil {
		t.Fatal(err)
	}
	rec := newLiveEvents()
	app := NewApp(&fakeEngine{}, &fakeQueue{}, settings, rec.emit)
	app.history = db
	app.live = newLiveService(eng, db, liveDir(filepath.Join(dir, "data")))
	return &liveFixture{app: app, rec: rec, db: db, dir: dir, proc: proc}
}

// feed sends x in frames of 100 ms, as the page does.
func (f *liveFixture) feed(t *testing.T, id string, x []float32) {
	t.Helper()
	const frame = live.SampleRate / 10
	for len(x) > 0 {
		n := min(frame, len(x))
		if err := f.app.LiveFeed(id, pcm16(x[:n])); err != nil {
			t.Fatal(err)
		}
		x = x[n:]
	}
}

func historyKeys(t *testing.T, db *store.DB, id int64) string {
	t.Helper()
	_, tr, err := db.Transcript(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(tr.Text), " ")
}

func TestLiveSessionBecomesAHistoryEntry(t *testing.T) {
	f := newLiveApp(t)
	info, err := f.app.LiveStart()
	if err != nil {
		t.Fatal(err)
	}
	if info.Model != "dtmf" || info.SampleRate != 16000 || info.Server != f.proc.Addr() {
		t.Errorf("started %+v, want the saved server and model at 16 kHz", info)
	}
	samples := dtmf.Synthesize(liveKeys, live.SampleRate, 7, dtmf.SynthOptions{NoiseDB: -40, Seed: 3})
	// Partials come while a key is held (fed faster than real time, the
	// test waits for one before the key ends).
	f.feed(t, info.ID, samples[:int(1.1*live.SampleRate)])
	f.rec.wait(t, "a partial while 1 is held", func() bool { return f.rec.count(live.EventPartial, "") > 0 })
	f.feed(t, info.ID, samples[int(1.1*live.SampleRate):4*live.SampleRate])
	f.rec.wait(t, "three finals", func() bool { return f.rec.count(live.EventFinal, "") >= 3 })
	if got := f.rec.finalText(); got != "1 2 3" {
		t.Errorf("finals say %q, want 1 2 3", got)
	}
	// Pause makes the open utterance final at once; frames while paused
	// are not heard.
	f.feed(t, info.ID, samples[4*live.SampleRate:int(4.7*live.SampleRate)])
	if err := f.app.LivePause(info.ID); err != nil {
		t.Fatal(err)
	}
	f.rec.wait(t, "the paused utterance's final", func() bool { return f.rec.count(live.EventFinal, "") >= 4 })
	f.feed(t, info.ID, samples[int(4.7*live.SampleRate):int(5.5*live.SampleRate)]) // dropped
	if err := f.app.LiveResume(info.ID); err != nil {
		t.Fatal(err)
	}
	f.feed(t, info.ID, samples[int(5.5*live.SampleRate):])
	res, err := f.app.LiveStop(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.HistoryID == 0 || res.Untranscribed != 0 || len(res.Warnings) != 0 {
		t.Fatalf("stopped %+v, want a history entry with everything heard", res)
	}
	if got := historyKeys(t, f.db, res.HistoryID); got != "1 2 3 4 5" {
		t.Errorf("the history entry says %q, want 1 2 3 4 5", got)
	}
	if want := 7 - 0.8; math.Abs(res.Duration-want) > 0.01 {
		t.Errorf("duration %.3f s, want %.3f (the paused frames are not recorded)", res.Duration, want)
	}
	// Partials came, and the level meter's events are thinned to one per
	// 100 ms of audio.
	if n, max := f.rec.count(live.EventLevel, ""), int(res.Duration*10)+1; n == 0 || n > max {
		t.Errorf("%d level events for %.1f s, want 1..%d", n, res.Duration, max)
	}
	for _, e := range f.rec.events {
		if e.Session != info.ID {
			t.Fatalf("an event of session %q, want %q", e.Session, info.ID)
		}
	}
	// The event reaches the page as one flat object.
	data, _ := json.Marshal(LiveEvent{Session: "s", Event: live.Event{Type: live.EventFinal, Text: "1", LatencyMs: 12}})
	if want := `{"session":"s","type":"final","utterance":0,"start":0,"end":0,"text":"1","latency_ms":12}`; string(data) != want {
		t.Errorf("event JSON %s, want %s", data, want)
	}
	// The session is an ordinary entry: the Library lists and finds it.
	hits, err := f.app.History("")
	if err != nil || len(hits) != 1 || hits[0].ID != res.HistoryID {
		t.Fatalf("history %+v (%v), want the one session", hits, err)
	}
	if err := f.app.LiveFeed(info.ID, pcm16(samples[:10])); err == nil || !strings.Contains(err.Error(), "not recording") {
		t.Errorf("frames after Stop: %v, want a refusal", err)
	}
}

func TestLiveServerDownMidSession(t *testing.T) {
	f := newLiveApp(t)
	info, err := f.app.LiveStart()
	if err != nil {
		t.Fatal(err)
	}
	samples := dtmf.Synthesize(liveKeys, live.SampleRate, 7, dtmf.SynthOptions{NoiseDB: -40, Seed: 4})
	f.feed(t, info.ID, samples[:int(2.8*live.SampleRate)])
	f.rec.wait(t, "two finals", func() bool { return f.rec.count(live.EventFinal, "") >= 2 })

	f.proc.Stop()
	f.feed(t, info.ID, samples[int(2.8*live.SampleRate):int(4.2*live.SampleRate)]) // recording goes on
	f.rec.wait(t, "the offline notice", func() bool { return f.rec.count(live.EventStatus, live.StatusOffline) > 0 })
	if n := f.rec.count(live.EventFinal, ""); n != 2 {
		t.Fatalf("%d finals while the server is down, want 2", n)
	}
	if err := f.proc.Start(); err != nil {
		t.Fatal(err)
	}
	f.rec.wait(t, "the waiting final after the server came back", func() bool { return f.rec.count(live.EventFinal, "") >= 3 })
	if f.rec.count(live.EventStatus, live.StatusOnline) == 0 {
		t.Error("no notice that the server is back")
	}
	f.feed(t, info.ID, samples[int(4.2*live.SampleRate):])
	res, err := f.app.LiveStop(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := historyKeys(t, f.db, res.HistoryID); got != "1 2 3 4 5" {
		t.Errorf("the history entry says %q, want every key", got)
	}
}

func TestLiveRefusals(t *testing.T) {
	f := newLiveApp(t)
	info, err := f.app.LiveStart()
	if err != nil {
		t.Fatal(err)
	}
	defer f.app.LiveStop(info.ID)
	noLive := NewApp(&fakeEngine{}, &fakeQueue{}, f.app.settings, nil)

	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"a second session", func() error { _, err := f.app.LiveStart(); return err }, "already recording"},
		{"frames for another session", func() error { return f.app.LiveFeed("nope", []byte{0, 0}) }, `"nope" is not recording`},
		{"pause another session", func() error { return f.app.LivePause("nope") }, "not recording"},
		{"stop another session", func() error { _, err := f.app.LiveStop("nope"); return err }, "not recording"},
		{"no live service", func() error { _, err := noLive.LiveStart(); return err }, "not available"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestLiveStartNamesTheModelItCannotUse(t *testing.T) {
	f := newLiveApp(t)
	s := f.app.settings.Get()
	s.Model = "no-such-model"
	if _, err := f.app.settings.Set(s); err != nil {
		t.Fatal(err)
	}
	_, err := f.app.LiveStart()
	if err == nil || !strings.Contains(err.Error(), "no-such-model") || !strings.Contains(err.Error(), f.proc.Addr()) {
		t.Fatalf("err = %v, want one naming the model and the server", err)
	}
	s.Model = "dtmf" // the failed start left no session behind
	if _, err := f.app.settings.Set(s); err != nil {
		t.Fatal(err)
	}
	info, err := f.app.LiveStart()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.LiveStop(info.ID); err != nil {
		t.Fatal(err)
	}
}

func TestCrashedLiveSessionIsRecoveredAndToldOnce(t *testing.T) {
	f := newLiveApp(t)
	srv, err := inference.Connect(f.proc.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	m, err := srv.OpenModel(context.Background(), "dtmf", inference.WaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	finals := make(chan live.Event, 8)
	sess, err := live.New(live.Config{Recognizer: m, Store: f.db, Dir: f.app.live.dir, Model: "dtmf",
		Emit: func(ev live.Event) {
			if ev.Type == live.EventFinal {
				finals <- ev
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	samples := dtmf.Synthesize(liveKeys[:2], live.SampleRate, 3, dtmf.SynthOptions{})
	if err := sess.Feed(samples); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-finals:
		case <-time.After(30 * time.Second):
			t.Fatal("the finals were not stored within 30 s")
		}
	}
	sess.Abandon() // as a crash

	// Recover leaves fresh notes alone (a session still running), so the
	// app's start looks ten seconds later.
	results, err := live.Recover(context.Background(), f.app.live.dir, f.db, live.RecoverOptions{Now: func() time.Time { return time.Now().Add(time.Minute) }})
	if err != nil || len(results) != 1 {
		t.Fatalf("recovered %d (%v), want 1", len(results), err)
	}
	// What the app's own startup then reports: the same, once.
	f.app.live.recovered = append(f.app.live.recovered, LiveRecovered{ID: results[0].ID, HistoryID: results[0].HistoryID})
	got := f.app.LiveRecovered()
	if len(got) != 1 || got[0].HistoryID == 0 {
		t.Fatalf("LiveRecovered = %+v, want the one session", got)
	}
	if again := f.app.LiveRecovered(); len(again) != 0 {
		t.Errorf("told twice: %+v", again)
	}
	if keys := historyKeys(t, f.db, got[0].HistoryID); keys != "1 2" {
		t.Errorf("the recovered entry says %q, want 1 2", keys)
	}
}

func TestRecoverLiveAtStartup(t *testing.T) {
	f := newLiveApp(t)
	// No interrupted session: nothing to tell.
	f.app.recoverLive(context.Background())
	if got := f.app.LiveRecovered(); len(got) != 0 {
		t.Fatalf("recovered %+v from an empty folder", got)
	}
	if got := (&App{}).LiveRecovered(); got == nil || len(got) != 0 {
		t.Errorf("without live: %#v, want an empty list", got)
	}
}

// TestLiveFeedKeepsUp: a minute of 100 ms frames through the binding path
// (the page's JSON arguments, base64 PCM16, decoded as Wails does, then
// LiveFeed) takes a small part of the minute. The bound is loose for a
// busy machine; the figure is logged.
func TestLiveFeedKeepsUp(t *testing.T) {
	f := newLiveApp(t)
	info, err := f.app.LiveStart()
	if err != nil {
		t.Fatal(err)
	}
	samples := dtmf.Synthesize(liveKeys, live.SampleRate, 60, dtmf.SynthOptions{NoiseDB: -40, Seed: 5})
	const frame = live.SampleRate / 10
	var args [][]byte
	for i := 0; i+frame <= len(samples); i += frame {
		a, _ := json.Marshal([]any{info.ID, pcm16(samples[i : i+frame])}) // []byte goes as base64
		args = append(args, a)
	}
	start := time.Now()
	var worst time.Duration
	for _, a := range args {
		t0 := time.Now()
		var raw []json.RawMessage
		var id string
		var pcm []byte
		if err := json.Unmarshal(a, &raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw[0], &id); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw[1], &pcm); err != nil {
			t.Fatal(err)
		}
		if err := f.app.LiveFeed(id, pcm); err != nil {
			t.Fatal(err)
		}
		worst = max(worst, time.Since(t0))
	}
	took := time.Since(start)
	t.Logf("%d frames of 100 ms: %s in all (%.2f%% of real time), %s per frame, worst %s",
		len(args), took.Round(time.Millisecond), 100*took.Seconds()/60, (took / time.Duration(len(args))).Round(time.Microsecond), worst.Round(time.Microsecond))
	if took > 6*time.Second {
		t.Errorf("a minute of frames took %s: the binding path does not keep up with real time by a wide margin", took)
	}
	if _, err := f.app.LiveStop(info.ID); err != nil {
		t.Fatal(err)
	}
}

// A page that goes away mid-session (a reload) asks LiveRecovered when it
// loads again: the orphaned session is saved and told, and Record works.
func TestLiveSessionOfAReloadedPageIsSaved(t *testing.T) {
	f := newLiveApp(t)
	info, err := f.app.LiveStart()
	if err != nil {
		t.Fatal(err)
	}
	samples := dtmf.Synthesize(liveKeys[:2], live.SampleRate, 3, dtmf.SynthOptions{NoiseDB: -40, Seed: 8})
	f.feed(t, info.ID, samples)
	got := f.app.LiveRecovered() // the reloaded page's first question
	if len(got) != 1 || got[0].ID != info.ID || got[0].HistoryID == 0 {
		t.Fatalf("LiveRecovered = %+v, want the orphaned session saved", got)
	}
	if keys := historyKeys(t, f.db, got[0].HistoryID); keys != "1 2" {
		t.Errorf("the saved session says %q, want 1 2", keys)
	}
	if err := f.app.LiveFeed(info.ID, pcm16(samples[:10])); err == nil {
		t.Error("the orphaned session still takes frames")
	}
	next, err := f.app.LiveStart()
	if err != nil {
		t.Fatalf("Record after the reload: %v", err)
	}
	if _, err := f.app.LiveStop(next.ID); err != nil {
		t.Fatal(err)
	}
	if again := f.app.LiveRecovered(); len(again) != 0 {
		t.Errorf("told twice: %+v", again)
	}
}
