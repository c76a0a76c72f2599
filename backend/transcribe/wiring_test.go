package transcribe

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/cache"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// The staged copy is leased while the job needs it: a cache capped far
// below the file's size keeps it during the job and evicts it right after;
// with room to spare it stays, unleased, for the next run.
func TestCacheLeaseHeldDuringTheJobOnly(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	src := filepath.Join(t.TempDir(), "a.wav")
	writeWAV(t, src, []dtmf.Press{{Key: '4', Start: 1, End: 1.2}}, 16000, 40, -40)

	for _, tc := range []struct {
		name      string
		max       int64
		wantFiles int
	}{
		{"tiny cap", 1, 0},
		{"default cap", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := openEngine(t, Config{CacheMaxBytes: tc.max})
			c, err := e.Cache(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var during []cache.Usage
			req := Request{Path: src, Server: addr, Model: "dtmf"}
			res, err := e.Transcribe(context.Background(), req, func(p Progress) {
				if p.Stage == StageTranscribing {
					u, err := c.Usage()
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					during = append(during, u)
					mu.Unlock()
				}
			})
			if err != nil || res.Transcript.Text != "4" {
				t.Fatalf("res %q, err %v", res.Transcript.Text, err)
			}
			if len(during) == 0 {
				t.Fatal("no progress while transcribing")
			}
			for _, u := range during {
				if u.Files != 1 || u.Leased != 1 {
					t.Fatalf("during the job the cache held %+v, want the copy, leased", u)
				}
			}
			u, err := c.Usage()
			if err != nil {
				t.Fatal(err)
			}
			if u.Files != tc.wantFiles || u.Leased != 0 {
				t.Errorf("after the job the cache holds %+v, want %d files, none leased", u, tc.wantFiles)
			}
		})
	}
}

// A failed or cancelled job gives its lease back too.
func TestCacheLeaseReleasedOnFailure(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	src := filepath.Join(t.TempDir(), "notes.wav")
	os.WriteFile(src, []byte("not audio at all, just some words\n"), 0o644)
	e := openEngine(t, Config{CacheMaxBytes: 1})
	if _, err := e.Transcribe(context.Background(), Request{Path: src, Server: addr, Model: "dtmf"}, nil); err == nil {
		t.Fatal("text file transcribed")
	}
	c, _ := e.Cache(context.Background(), "")
	if u, _ := c.Usage(); u.Files != 0 || u.Leased != 0 {
		t.Errorf("after a failed job the cache holds %+v", u)
	}
}

// Concurrency is exactly the most requests in flight, and the pool's
// limiter has it as its ceiling.
func TestConcurrencyBoundsRequestsInFlight(t *testing.T) {
	m := newCounting(80 * time.Millisecond)
	addr := tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{m}})
	files := makeKeys(t, t.TempDir(), 3, 40)
	e := openEngine(t, Config{Concurrency: 2, ChunkSeconds: 10})
	q := NewQueue(e, QueueOptions{})
	defer q.Close()
	for _, f := range files {
		q.Add(Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true})
	}
	waitQueue(t, q)
	if p := m.peak.Load(); p != 2 {
		t.Errorf("peak of %d requests in flight, want 2", p)
	}
	if st := e.pool(addr).lim.Stats(); st.Max != 2 || st.InFlight != 0 {
		t.Errorf("limiter %+v, want max 2 and nothing in flight", st)
	}
	for i, j := range q.Jobs() {
		res, _ := q.Result(j.ID)
		checkWords(t, res.Transcript, files[i])
	}
}

// A chunk the server fails for a while is retried, and the job says so.
func TestRetriesShowAsNotes(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{FailRate: 0.5, Seed: 3})
	src := filepath.Join(t.TempDir(), "r.wav")
	writeWAV(t, src, []dtmf.Press{{Key: '6', Start: 1, End: 1.2}}, 16000, 20, -40)
	// Through Connect, with short waits between attempts.
	e := openEngine(t, Config{ChunkSeconds: 5, Connect: func(addr string) (*inference.Server, error) {
		return inference.ConnectConfig(inference.Config{Addresses: []string{addr},
			Retry: inference.RetryPolicy{Delay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}})
	}})
	var rec recorder
	res, err := e.Transcribe(context.Background(), Request{Path: src, Server: addr, Model: "dtmf"}, rec.add)
	if err != nil || res.Transcript.Text != "6" {
		t.Fatalf("res %q, err %v", res.Transcript.Text, err)
	}
	var notes []string
	for _, p := range rec.ps {
		if strings.Contains(p.Note, "retrying") {
			notes = append(notes, p.Note)
		}
	}
	if len(notes) == 0 {
		t.Fatal("no retry note with half the requests failing")
	}
	t.Logf("first note: %s", notes[0])
	if !strings.HasPrefix(notes[0], "retrying chunk ") || !strings.Contains(notes[0], "(attempt 2 of 10): ") || !strings.Contains(notes[0], "unavailable") {
		t.Errorf("note %q", notes[0])
	}
}

// Channel and decoder choice are part of what a result is stored under:
// the other channel of the same file is not answered from the store.
func TestChannelChoiceIsPartOfThePlan(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	src := filepath.Join(dir, "two.wav")
	left := dtmf.Synthesize([]dtmf.Press{{Key: '1', Start: 0.5, End: 0.7}}, 16000, 3, dtmf.SynthOptions{NoiseDB: -40, Seed: 1})
	right := dtmf.Synthesize([]dtmf.Press{{Key: '9', Start: 1.5, End: 1.7}}, 16000, 3, dtmf.SynthOptions{NoiseDB: -40, Seed: 2})
	inter := make([]float32, 0, 2*len(left))
	for i := range left {
		inter = append(inter, left[i], right[i])
	}
	f, _ := os.Create(src)
	if err := audio.WriteWAV(f, inter, 16000, 2, audio.PCM16); err != nil {
		t.Fatal(err)
	}
	f.Close()
	e := openEngine(t, Config{})
	for _, c := range []struct {
		ch   int
		want string
	}{{0, "1"}, {1, "9"}, {0, "1"}} {
		ch := c.ch
		res, err := e.Transcribe(context.Background(), Request{Path: src, Server: addr, Model: "dtmf", Channel: &ch, Decoder: "builtin"}, nil)
		if err != nil || res.Transcript.Text != c.want {
			t.Errorf("channel %d: %q, %v; want %q", ch, res.Transcript.Text, err, c.want)
		}
	}
	three := 3
	_, err := e.Transcribe(context.Background(), Request{Path: src, Server: addr, Model: "dtmf", Channel: &three}, nil)
	if err == nil || !strings.Contains(err.Error(), "channel 3 of a 2-channel file") {
		t.Errorf("channel 3 of a stereo file: %v", err)
	}
	_, err = e.Transcribe(context.Background(), Request{Path: src, Server: addr, Model: "dtmf", Decoder: "gstreamer"}, nil)
	if err == nil || !strings.Contains(err.Error(), "use auto, builtin or ffmpeg") {
		t.Errorf("unknown decoder: %v", err)
	}
}
