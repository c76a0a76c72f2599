package transcribe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// counting is the dtmf model counting executions, the most at once, and
// optionally taking its time, so tests see what reached the server.
type counting struct {
	tritontest.Model
	delay    time.Duration
	calls    *atomic.Int32 // executions finished
	inFlight *atomic.Int32
	peak     *atomic.Int32
}

func newCounting(delay time.Duration) counting {
	return counting{Model: tritontest.DTMF(), delay: delay, calls: new(atomic.Int32), inFlight: new(atomic.Int32), peak: new(atomic.Int32)}
}

func (m counting) Execute(ctx context.Context, in []tritontest.Tensor, params map[string]*pb.InferParameter) ([]tritontest.Tensor, error) {
	n := m.inFlight.Add(1)
	defer m.inFlight.Add(-1)
	for {
		p := m.peak.Load()
		if n <= p || m.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if m.delay > 0 {
		select {
		case <-time.After(m.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	out, err := m.Model.Execute(ctx, in, params)
	if err == nil {
		m.calls.Add(1)
	}
	return out, err
}

// keysFile is a test input: presses to synthesise and the text they give.
type keysFile struct {
	path    string
	presses []dtmf.Press
	seconds float64
}

func (k keysFile) text() string {
	var keys []string
	for _, p := range k.presses {
		keys = append(keys, string(p.Key))
	}
	return strings.Join(keys, " ")
}

// makeKeys writes n distinct files of `seconds` each with a few presses,
// one of them near every 30 s cut.
func makeKeys(t *testing.T, dir string, n int, seconds float64) []keysFile {
	t.Helper()
	const keys = "0123456789*#ABCD"
	var out []keysFile
	for i := range n {
		var presses []dtmf.Press
		for k, at := 0, 0.5+float64(i%5)*0.3; at+0.3 < seconds; k, at = k+1, at+7.3 {
			presses = append(presses, dtmf.Press{Key: rune(keys[(i+k)%len(keys)]), Start: at, End: at + 0.15})
		}
		f := keysFile{path: filepath.Join(dir, fmt.Sprintf("keys-%02d.wav", i)), presses: presses, seconds: seconds}
		writeWAV(t, f.path, presses, 16000, seconds, -40)
		out = append(out, f)
	}
	return out
}

// checkWords compares a transcript with the presses, within 50 ms.
func checkWords(t *testing.T, tr transcript.Transcript, f keysFile) {
	t.Helper()
	if tr.Text != f.text() {
		t.Errorf("%s: text %q, want %q", filepath.Base(f.path), tr.Text, f.text())
		return
	}
	var words []transcript.Word
	for _, s := range tr.Segments {
		words = append(words, s.Words...)
	}
	for i, p := range f.presses {
		if w := words[i]; math.Abs(w.Start-p.Start) > 0.05 || math.Abs(w.End-p.End) > 0.05 {
			t.Errorf("%s: word %d at %.3f..%.3f, want %.3f..%.3f", filepath.Base(f.path), i, w.Start, w.End, p.Start, p.End)
		}
	}
}

func openEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join(t.TempDir(), "data")
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = filepath.Join(t.TempDir(), "cache")
	}
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// events records a queue's events.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (ev *events) add(e Event) { ev.mu.Lock(); ev.all = append(ev.all, e); ev.mu.Unlock() }

func (ev *events) of(id JobID) []Event {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var out []Event
	for _, e := range ev.all {
		if e.Job.ID == id {
			out = append(out, e)
		}
	}
	return out
}

func waitQueue(t *testing.T, q *Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := q.Wait(ctx); err != nil {
		t.Fatalf("queue did not finish: %v", err)
	}
}

func TestQueueRunsABatchAndOneFailureStopsNothing(t *testing.T) {
	m := newCounting(0)
	addr := tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{m}})
	dir := t.TempDir()
	files := makeKeys(t, dir, 6, 40) // two chunks each
	notAudio := filepath.Join(dir, "notes.wav")
	os.WriteFile(notAudio, []byte("meeting notes, not audio"), 0o644)
	empty := filepath.Join(dir, "empty.wav")
	os.WriteFile(empty, nil, 0o644)
	missing := filepath.Join(dir, "missing.wav")

	e := openEngine(t, Config{Concurrency: 3})
	q := NewQueue(e, QueueOptions{ProgressInterval: 5 * time.Millisecond})
	defer q.Close()
	var ev events
	q.Subscribe(ev.add)
	out := filepath.Join(dir, "out")
	add := func(path string) JobID {
		id, err := q.Add(Request{Path: path, Server: addr, Model: "dtmf", OutDir: out, Formats: []string{"json", "srt"}, Timestamps: true})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	var good []JobID
	for i, f := range files {
		good = append(good, add(f.path))
		if i == 2 {
			add(notAudio)
			add(empty)
			add(missing)
		}
	}
	waitQueue(t, q)
	q.Close() // delivers the last events

	jobs := q.Jobs()
	if len(jobs) != 9 {
		t.Fatalf("%d jobs", len(jobs))
	}
	bad := map[string]string{notAudio: "not an audio file", empty: "empty", missing: "not found"}
	for _, j := range jobs {
		if want, isBad := bad[j.Request.Path]; isBad {
			if j.State != StageFailed || !strings.Contains(j.Error, want) || j.ErrorCode == "" || len(j.Outputs) != 0 {
				t.Errorf("%s: %s %q (%s), want failed saying %q", filepath.Base(j.Request.Path), j.State, j.Error, j.ErrorCode, want)
			}
			continue
		}
		if j.State != StageDone || len(j.Outputs) != 2 || j.Progress.Fraction != 1 || j.HistoryID == 0 {
			t.Errorf("%s: %+v", filepath.Base(j.Request.Path), j)
		}
	}
	for i, id := range good {
		res, err := q.Result(id)
		if err != nil {
			t.Fatal(err)
		}
		checkWords(t, res.Transcript, files[i])
		if res.Outputs[0] != filepath.Join(out, Stem(files[i].path)+".json") {
			t.Errorf("outputs %v", res.Outputs)
		}
	}
	if n := m.calls.Load(); n != 12 {
		t.Errorf("server ran %d chunks, want 12", n)
	}
	if p := m.peak.Load(); p > 3 {
		t.Errorf("%d requests in flight at once, the pool allows 3", p)
	}

	// Every job's events: added first, stages never back, fraction never
	// down, and the last one is its end.
	rank := map[Stage]int{StageQueued: 0, StageStaging: 1, StageDecoding: 2, StageTranscribing: 3, StageExporting: 4, StageDone: 5, StageFailed: 5}
	for _, j := range jobs {
		evs := ev.of(j.ID)
		if len(evs) < 3 || evs[0].Kind != EventAdded || evs[len(evs)-1].Job.State != j.State {
			t.Errorf("%s: events %+v", filepath.Base(j.Request.Path), evs)
			continue
		}
		last, frac := 0, 0.0
		for _, e := range evs {
			if r := rank[e.Job.State]; r < last || e.Job.Progress.Fraction < frac-1e-9 {
				t.Errorf("%s: went back to %s %.3f after rank %d %.3f", filepath.Base(j.Request.Path), e.Job.State, e.Job.Progress.Fraction, last, frac)
			} else {
				last, frac = r, e.Job.Progress.Fraction
			}
		}
	}
}

// One pool per server: however many files, no more than Concurrency
// requests are in flight, and the pool is kept full.
func TestPoolIsSharedAcrossFiles(t *testing.T) {
	m := newCounting(100 * time.Millisecond)
	addr := tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{m}})
	files := makeKeys(t, t.TempDir(), 6, 65)
	e := openEngine(t, Config{Concurrency: 4})
	q := NewQueue(e, QueueOptions{})
	defer q.Close()
	for _, f := range files {
		q.Add(Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true})
	}
	waitQueue(t, q)
	if p := m.peak.Load(); p != 4 {
		t.Errorf("peak of %d requests in flight, want exactly the pool's 4", p)
	}
	for i, j := range q.Jobs() {
		res, _ := q.Result(j.ID)
		checkWords(t, res.Transcript, files[i])
	}
}

func TestStoredResultIsReusedUnlessForced(t *testing.T) {
	m := newCounting(0)
	addr := tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{m}})
	dir := t.TempDir()
	f := makeKeys(t, dir, 1, 65)[0]
	e := openEngine(t, Config{})
	req := Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true}
	first, err := e.Transcribe(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.calls.Load() != 3 || first.Reused || first.HistoryID == 0 {
		t.Fatalf("first run: %d calls, %+v", m.calls.Load(), first)
	}

	// The same content under another name: answered from the history.
	copyPath := filepath.Join(dir, "copy.wav")
	data, _ := os.ReadFile(f.path)
	os.WriteFile(copyPath, data, 0o644)
	req.Path = copyPath
	var last Progress
	again, err := e.Transcribe(context.Background(), req, func(p Progress) { last = p })
	if err != nil {
		t.Fatal(err)
	}
	if m.calls.Load() != 3 || !again.Reused || again.HistoryID != first.HistoryID || !last.Reused || last.Stage != StageDone {
		t.Fatalf("second run: %d calls, reused %v, progress %+v", m.calls.Load(), again.Reused, last)
	}
	if again.Transcript.Source != copyPath || again.Transcript.Text != first.Transcript.Text {
		t.Errorf("reused transcript %q from %s", again.Transcript.Text, again.Transcript.Source)
	}

	// Other options are another request.
	req.Timestamps = false
	if _, err := e.Transcribe(context.Background(), req, nil); err != nil || m.calls.Load() != 6 {
		t.Fatalf("other options: %d calls, %v", m.calls.Load(), err)
	}
	// Forced: sent again.
	req.Timestamps, req.Force = true, true
	forced, err := e.Transcribe(context.Background(), req, nil)
	if err != nil || m.calls.Load() != 9 || forced.Reused {
		t.Fatalf("forced: %d calls, %v", m.calls.Load(), err)
	}
	checkWords(t, forced.Transcript, f)
}

// failAfter is the dtmf model failing for good after n executions, as a
// server whose GPU broke.
type failAfter struct {
	counting
	n int32
}

func (m failAfter) Execute(ctx context.Context, in []tritontest.Tensor, params map[string]*pb.InferParameter) ([]tritontest.Tensor, error) {
	if m.calls.Load() >= m.n {
		return nil, errors.New("CUDA error: device lost")
	}
	return m.counting.Execute(ctx, in, params)
}

// Chunks finished before a failure are kept: the retry sends only the rest.
func TestRetrySendsOnlyWhatIsMissing(t *testing.T) {
	broken := failAfter{counting: newCounting(0), n: 2}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := tritontest.New(tritontest.Options{Models: []tritontest.Model{broken}})
	go srv.Serve(ln)

	f := makeKeys(t, t.TempDir(), 1, 150)[0] // five or six chunks
	e := openEngine(t, Config{Concurrency: 1})
	q := NewQueue(e, QueueOptions{})
	defer q.Close()
	id, _ := q.Add(Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true, OutDir: t.TempDir(), Formats: []string{"json"}})
	waitQueue(t, q)
	j, _ := q.Job(id)
	if j.State != StageFailed || !strings.Contains(j.Error, "chunk 3 at 0:00:5") || !strings.Contains(j.Error, "device lost") {
		t.Fatalf("job %s: %q", j.State, j.Error)
	}
	srv.Stop()

	// The server comes back repaired on the same address.
	fixed := newCounting(0)
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := tritontest.New(tritontest.Options{Models: []tritontest.Model{fixed}})
	go srv2.Serve(ln2)
	defer srv2.Stop()
	if err := q.Retry(id); err != nil {
		t.Fatal(err)
	}
	waitQueue(t, q)
	j, _ = q.Job(id)
	if j.State != StageDone || j.Attempts != 2 || j.Progress.ChunksReused != 2 {
		t.Fatalf("after retry: %+v", j)
	}
	if n := int(fixed.calls.Load()); n != j.Progress.ChunksTotal-2 {
		t.Errorf("the retry sent %d chunks, want the %d not finished", n, j.Progress.ChunksTotal-2)
	}
	res, _ := q.Result(id)
	checkWords(t, res.Transcript, f)
	if err := q.Retry(id); !errors.Is(err, ErrNotRetry) {
		t.Errorf("retrying a finished job: %v", err)
	}
}

func TestCancelOneRemoveOneCancelAll(t *testing.T) {
	// Four chunks a file at a second each, two in flight: a job has about
	// a second left after its first answer and after the job before it
	// ends, time enough for the test to act on a loaded machine.
	addr := tritontest.Start(t, tritontest.Options{Latency: time.Second})
	files := makeKeys(t, t.TempDir(), 4, 95) // four chunks each
	e := openEngine(t, Config{Concurrency: 2})
	q := NewQueue(e, QueueOptions{MaxActive: 2})
	defer q.Close()
	var ids []JobID
	for _, f := range files {
		id, _ := q.Add(Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true})
		ids = append(ids, id)
	}
	job := func(i int) Job { j, _ := q.Job(ids[i]); return j }
	// Job 0 is cancelled while transcribing; job 3, still queued, is removed.
	waitUntil(t, "job 0 has a chunk answered", func() bool {
		j := job(0)
		return j.State == StageTranscribing && j.Progress.ChunksDone >= 1
	})
	if err := q.Cancel(ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := q.Remove(ids[3]); err != nil {
		t.Fatal(err)
	}
	if _, ok := q.Job(ids[3]); ok {
		t.Error("removed job still listed")
	}
	if err := q.Cancel(99); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("cancel of an unknown job: %v", err)
	}
	// Job 1 finishes despite job 0's cancellation.
	waitUntil(t, "job 1 finished", func() bool { return job(1).State.Finished() })
	q.CancelAll()
	waitQueue(t, q)
	want := []Stage{StageCancelled, StageDone, StageCancelled}
	for i, j := range q.Jobs() {
		if j.State != want[i] {
			t.Errorf("job %d: %s %q, want %s", i, j.State, j.Error, want[i])
		}
		if j.State == StageCancelled && (j.ErrorCode != string(apperr.CodeCanceled) || len(j.Outputs) != 0) {
			t.Errorf("job %d: %+v", i, j)
		}
	}
	// A cancelled job can be retried; what it finished is kept.
	if err := q.Retry(ids[0]); err != nil {
		t.Fatal(err)
	}
	waitQueue(t, q)
	j, _ := q.Job(ids[0])
	if j.State != StageDone || j.Progress.ChunksReused == 0 {
		t.Errorf("retried job: %s, %d chunks reused", j.State, j.Progress.ChunksReused)
	}
	res, _ := q.Result(ids[0])
	checkWords(t, res.Transcript, files[0])
}

func TestOutputNamesNeverClashOrOverwrite(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	for _, sub := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
	}
	one := makeKeys(t, filepath.Join(dir, "a"), 1, 5)[0]
	two := makeKeys(t, filepath.Join(dir, "b"), 2, 5)[1]
	twin := filepath.Join(dir, "b", "KEYS-00.WAV") // same name as one's, another case
	os.Rename(two.path, twin)
	out := filepath.Join(dir, "out")
	e := openEngine(t, Config{})
	q := NewQueue(e, QueueOptions{})
	defer q.Close()
	r := Request{Server: addr, Model: "dtmf", OutDir: out, Formats: []string{"txt"}, Timestamps: true}
	r.Path = one.path
	a, _ := q.Add(r)
	r.Path = twin
	b, _ := q.Add(r)
	waitQueue(t, q)
	ja, _ := q.Job(a)
	jb, _ := q.Job(b)
	if len(ja.Outputs) != 1 || len(jb.Outputs) != 1 || ja.Outputs[0] != filepath.Join(out, "keys-00.txt") || jb.Outputs[0] != filepath.Join(out, "KEYS-00 (2).txt") {
		t.Fatalf("outputs %v and %v", ja.Outputs, jb.Outputs)
	}

	// A later run: the same output again is fine; a different one is not
	// written over unless asked.
	q2 := NewQueue(e, QueueOptions{})
	defer q2.Close()
	r.Path = one.path
	same, _ := q2.Add(r)
	os.WriteFile(filepath.Join(out, "KEYS-00.txt"), []byte("my own notes\n"), 0o644) // not ours
	r.Path, r.OutName = twin, "KEYS-00"
	clash, _ := q2.Add(r)
	waitQueue(t, q2)
	if j, _ := q2.Job(same); j.State != StageDone {
		t.Errorf("identical output: %s %q", j.State, j.Error)
	}
	j, _ := q2.Job(clash)
	if j.State != StageFailed || !strings.Contains(j.Error, "already exists") || j.ErrorCode != string(apperr.CodeFile) ||
		len(j.ExistingOutputs) != 1 || j.ExistingOutputs[0] != filepath.Join(out, "KEYS-00.txt") {
		t.Fatalf("clash: %+v", j)
	}
	if data, _ := os.ReadFile(filepath.Join(out, "KEYS-00.txt")); string(data) != "my own notes\n" {
		t.Fatalf("file overwritten: %q", data)
	}
	// The user agrees to replace it.
	if err := q2.RetryWith(clash, func(r *Request) { r.Overwrite = true }); err != nil {
		t.Fatal(err)
	}
	waitQueue(t, q2)
	if j, _ := q2.Job(clash); j.State != StageDone || len(j.ExistingOutputs) != 0 || !j.Request.Overwrite {
		t.Fatalf("overwrite: %+v", j)
	}
	if data, _ := os.ReadFile(filepath.Join(out, "KEYS-00.txt")); string(data) == "my own notes\n" {
		t.Error("--overwrite did not replace the file")
	}
}

// A server that goes away for two seconds mid-batch and comes back on the
// same address: every file succeeds, exactly; the only chunks sent twice
// are those in flight when it went down.
func TestServerRestartMidBatchLosesNothing(t *testing.T) {
	calls := new(atomic.Int32)
	model := func() counting { m := newCounting(0); m.calls = calls; return m }
	opts := func() tritontest.Options {
		return tritontest.Options{Latency: 150 * time.Millisecond, Models: []tritontest.Model{model()}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := tritontest.New(opts())
	go srv.Serve(ln)

	files := makeKeys(t, t.TempDir(), 8, 65) // three chunks each
	const conc = 4
	e := openEngine(t, Config{Concurrency: conc})
	q := NewQueue(e, QueueOptions{})
	defer q.Close()
	for _, f := range files {
		q.Add(Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true})
	}
	waitUntil(t, "six chunks were answered", func() bool { return calls.Load() >= 6 })
	srv.Stop() // as a crash: connections and calls in flight cut
	// Down for two seconds: the outage itself, not a wait for something.
	time.Sleep(2 * time.Second)
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := tritontest.New(opts())
	go srv2.Serve(ln2)
	defer srv2.Stop()

	waitQueue(t, q)
	for i, j := range q.Jobs() {
		if j.State != StageDone {
			t.Errorf("%s: %s %q", filepath.Base(j.Request.Path), j.State, j.Error)
			continue
		}
		res, _ := q.Result(j.ID)
		checkWords(t, res.Transcript, files[i])
	}
	if n := calls.Load(); n < 24 || n > 24+conc {
		t.Errorf("the servers ran %d chunks for 24: more than the %d that can have been in flight were sent twice", n, conc)
	}
}

func TestRestoreQueuesInterruptedJobs(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	f := makeKeys(t, t.TempDir(), 1, 5)[0]
	data := filepath.Join(t.TempDir(), "data")
	e := openEngine(t, Config{DataDir: data})
	// A job recorded as transcribing by a run that died.
	req := Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true}
	if _, err := e.Store().CreateJob(context.Background(), f.path, req, string(StageTranscribing)); err != nil {
		t.Fatal(err)
	}
	q := NewQueue(e, QueueOptions{})
	defer q.Close()
	ids, err := q.Restore(context.Background())
	if err != nil || len(ids) != 1 {
		t.Fatalf("restored %v, %v", ids, err)
	}
	waitQueue(t, q)
	res, err := q.Result(ids[0])
	if err != nil {
		t.Fatal(err)
	}
	checkWords(t, res.Transcript, f)
	// Wait returns once the job is done in memory; its runner records the
	// end in the store just after, and Close waits for the runners.
	q.Close()
	recs, _ := e.Store().Jobs(context.Background(), string(StageDone))
	if len(recs) != 1 || recs[0].TranscriptID != res.HistoryID {
		t.Errorf("job records %+v", recs)
	}
}

// Closing the queue (the app quitting) is not cancelling: the jobs stay
// unfinished in the store, and the next start resumes them.
func TestCloseLeavesJobsToRestore(t *testing.T) {
	m := newCounting(0)
	addr := tritontest.Start(t, tritontest.Options{Latency: 200 * time.Millisecond, Models: []tritontest.Model{m}})
	f := makeKeys(t, t.TempDir(), 1, 185)[0] // seven chunks or so
	data := filepath.Join(t.TempDir(), "data")
	e := openEngine(t, Config{DataDir: data, Concurrency: 1})
	q := NewQueue(e, QueueOptions{})
	req := Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true}
	id, _ := q.Add(req)
	waiting, _ := q.Add(req) // the same file again: waits for the first
	waitUntil(t, "three chunks were answered", func() bool { return m.calls.Load() >= 3 })
	q.Close()
	for _, id := range []JobID{id, waiting} {
		if j, _ := q.Job(id); j.State != StageCancelled {
			t.Errorf("job %d after Close: %s", id, j.State)
		}
	}
	recs, _ := e.Store().Jobs(context.Background())
	for _, r := range recs {
		if r.State == string(StageCancelled) || r.State == string(StageDone) {
			t.Errorf("Close recorded job %d as %s", r.ID, r.State)
		}
	}
	sent := m.calls.Load()

	q2 := NewQueue(e, QueueOptions{})
	defer q2.Close()
	ids, err := q2.Restore(context.Background())
	if err != nil || len(ids) != 2 {
		t.Fatalf("restored %v, %v", ids, err)
	}
	waitQueue(t, q2)
	// One of the two does the work, reusing the chunks answered before
	// Close (one answered just as it closed may not have been stored); the
	// other waits for it and takes its result.
	first, _ := q2.Job(ids[0])
	second, _ := q2.Job(ids[1])
	if first.Reused {
		first, second = second, first
	}
	if first.State != StageDone || first.Progress.ChunksReused < 2 || second.State != StageDone || !second.Reused {
		t.Fatalf("after restore: %+v\n%+v", first, second)
	}
	if total := int(m.calls.Load()); total > first.Progress.ChunksTotal+1 {
		t.Errorf("%d chunks sent in all (%d before the restart) for %d chunks", total, sent, first.Progress.ChunksTotal)
	}
	for _, id := range ids {
		res, _ := q2.Result(id)
		checkWords(t, res.Transcript, f)
	}
}

func TestProgressReportsSpeedAndTimeLeft(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{Latency: 100 * time.Millisecond})
	f := makeKeys(t, t.TempDir(), 1, 125)[0] // five chunks
	e := openEngine(t, Config{Concurrency: 1})
	var mu sync.Mutex
	var ps []Progress
	var at []time.Duration // when each progress came, since the call
	start := time.Now()
	_, err := e.Transcribe(context.Background(), Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true}, func(p Progress) {
		mu.Lock()
		ps = append(ps, p)
		at = append(at, time.Since(start))
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	k := -1
	for i := range ps {
		if ps[i].Stage == StageTranscribing && ps[i].ChunksDone == 2 {
			k = i
		}
	}
	if k < 0 {
		t.Fatalf("no progress after 2 chunks: %+v", ps)
	}
	mid := ps[k]
	if mid.AudioSeconds != 125 || mid.ChunksTotal != 5 || math.Abs(mid.DoneSeconds-57) > 5 {
		t.Errorf("progress after 2 of 5 chunks: %+v", mid)
	}
	// The speed is the audio sent over the time since the first request:
	// at least what is done over the whole call so far, and no more than
	// the whole file over the two answers' latency (one chunk at a time).
	// Bounds from the clock of this run, so a busy machine changes the
	// figures, not the verdict.
	if lo, hi := mid.DoneSeconds/at[k].Seconds(), 125/(2*0.1); mid.RealtimeFactor < lo || mid.RealtimeFactor > hi {
		t.Errorf("speed %.1fx after %v, want %.1f..%.1f", mid.RealtimeFactor, at[k], lo, hi)
	}
	if want := (mid.AudioSeconds - mid.DoneSeconds) / mid.RealtimeFactor; mid.ETASeconds <= 0 || math.Abs(mid.ETASeconds-want) > 1e-6*want {
		t.Errorf("time left %.2f s, want the audio left at that speed, %.2f s", mid.ETASeconds, want)
	}
	if end := ps[len(ps)-1]; end.Stage != StageDone || end.Fraction != 1 || end.ETASeconds != 0 || end.ChunksDone != 5 {
		t.Errorf("last progress %+v", end)
	}
}

// The same content twice in one batch is sent once.
func TestDuplicateInputsAreSentOnce(t *testing.T) {
	m := newCounting(0)
	addr := tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{m}})
	dir := t.TempDir()
	f := makeKeys(t, dir, 1, 40)[0]
	dup := filepath.Join(dir, "dup.wav")
	data, _ := os.ReadFile(f.path)
	os.WriteFile(dup, data, 0o644)
	e := openEngine(t, Config{})
	q := NewQueue(e, QueueOptions{})
	defer q.Close()
	q.Add(Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true})
	q.Add(Request{Path: dup, Server: addr, Model: "dtmf", Timestamps: true})
	waitQueue(t, q)
	for _, j := range q.Jobs() {
		if j.State != StageDone {
			t.Errorf("%s: %s %q", j.Request.Path, j.State, j.Error)
		}
	}
	if n := m.calls.Load(); n != 2 {
		t.Errorf("%d chunks sent for two copies of a two-chunk file", n)
	}
}
