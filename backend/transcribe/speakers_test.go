package transcribe

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize/diarizetest"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/voices"
)

// voiceRecording writes seconds of key presses spoken by n voices in
// random turns of 1 to maxTurn presses and returns the presses with their
// voice (index into the voices).
func voiceRecording(t *testing.T, path string, n int, seconds float64, maxTurn int, seed uint64) []voices.Press {
	t.Helper()
	f0s, err := voices.Spread(n)
	if err != nil {
		t.Fatal(err)
	}
	keys := voices.RandomPresses(seconds, 0.25, 0.6, 0.1, 0.8, seed)
	who := voices.RandomTurns(len(keys), n, 1, maxTurn, seed)
	presses := make([]voices.Press, len(keys))
	for i, k := range keys {
		presses[i] = voices.Press{Press: k, F0: f0s[who[i]]}
	}
	samples := voices.Synthesize(presses, 16000, seconds, dtmf.SynthOptions{NoiseDB: -60, Seed: 1})
	var buf bytes.Buffer
	if err := audio.WriteWAV(&buf, samples, 16000, 1, audio.PCM16); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return presses
}

// speakerAccuracy matches every word to the press it overlaps and returns
// the share of words with the right speaker after the best label mapping,
// failing the test on a word without a speaker or a press without a word.
func speakerAccuracy(t *testing.T, tr transcript.Transcript, presses []voices.Press) float64 {
	t.Helper()
	index := map[string]int{}
	for i, s := range tr.Speakers {
		index[s.Label] = i
	}
	voiceOf := map[float64]int{}
	var truth, pred []int
	for _, seg := range tr.Segments {
		if seg.Speaker == "" {
			t.Fatalf("segment %+v has no speaker", seg)
		}
		for _, w := range seg.Words {
			if w.Speaker != seg.Speaker {
				t.Fatalf("word %+v in a segment of %s", w, seg.Speaker)
			}
			best := -1
			for i, p := range presses {
				if math.Min(w.End, p.End)-math.Max(w.Start, p.Start) > 0 {
					best = i
					break
				}
			}
			if best < 0 {
				t.Fatalf("word %+v matches no press", w)
			}
			f := presses[best].F0
			if _, ok := voiceOf[f]; !ok {
				voiceOf[f] = len(voiceOf)
			}
			truth = append(truth, voiceOf[f])
			pred = append(pred, index[w.Speaker])
		}
	}
	if len(truth) != len(presses) {
		t.Fatalf("%d words for %d presses", len(truth), len(presses))
	}
	acc, _ := diarizetest.Accuracy(truth, pred)
	return acc
}

func speakerServer(t *testing.T, inspect func(context.Context, *pb.ModelInferRequest), models ...tritontest.Model) string {
	if models == nil {
		models = []tritontest.Model{tritontest.DTMF(), tritontest.Voices()}
	}
	return tritontest.Start(t, tritontest.Options{Models: models, Inspect: inspect})
}

// countVoices counts the requests that reach the voices model.
func countVoices(n *atomic.Int64) func(context.Context, *pb.ModelInferRequest) {
	return func(_ context.Context, r *pb.ModelInferRequest) {
		if r.GetModelName() == tritontest.VoicesModelName {
			n.Add(1)
		}
	}
}

func TestSpeakersAcrossChunkCuts(t *testing.T) {
	var sent atomic.Int64
	addr := speakerServer(t, countVoices(&sent))
	src := filepath.Join(t.TempDir(), "three.wav")
	presses := voiceRecording(t, src, 3, 150, 4, 7)
	e, err := Open(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	req := newRequest(t, addr, src)
	req.ChunkSeconds = 20 // cuts fall inside turns
	req.Formats = []string{"json"}
	req.Speakers = &SpeakerOptions{}
	var rec recorder
	res, err := e.Transcribe(context.Background(), req, rec.add)
	if err != nil {
		t.Fatal(err)
	}
	if res.Diarization != DiarizationDone || res.DiarizationError != "" {
		t.Fatalf("diarization %q %q", res.Diarization, res.DiarizationError)
	}
	if n := len(res.Transcript.Speakers); n != 3 {
		t.Fatalf("found %d speakers, want 3: %+v", n, res.Transcript.Speakers)
	}
	for i, s := range res.Transcript.Speakers {
		if want := "Speaker " + string(rune('1'+i)); s.Label != want || s.Seconds <= 0 {
			t.Errorf("speaker %d is %+v, want label %q", i, s, want)
		}
	}
	if acc := speakerAccuracy(t, res.Transcript, presses); acc != 1 {
		t.Errorf("%.1f%% of words to the right speaker, want all", 100*acc)
	}
	if sent.Load() == 0 {
		t.Fatal("no embeddings were asked for")
	}
	last := 0.0
	for _, p := range rec.ps {
		if p.Fraction < last-1e-9 {
			t.Fatalf("progress went back from %v to %+v", last, p)
		}
		last = p.Fraction
	}
	out, err := os.ReadFile(res.Outputs[0])
	if err != nil || !bytes.Contains(out, []byte(`"speaker": "Speaker 1"`)) {
		t.Errorf("JSON export without speakers (%v)", err)
	}

	// The history keeps the speakers: the same request is answered from it.
	res2, err := e.Transcribe(context.Background(), req, nil)
	if err != nil || !res2.Reused || len(res2.Transcript.Speakers) != 3 || res2.Diarization != DiarizationDone {
		t.Fatalf("again: reused %v, %d speakers, %q, %v", res2.Reused, len(res2.Transcript.Speakers), res2.Diarization, err)
	}
}

func TestStoredEmbeddingsAreNotSentAgain(t *testing.T) {
	var sent atomic.Int64
	addr := speakerServer(t, countVoices(&sent))
	src := filepath.Join(t.TempDir(), "two.wav")
	presses := voiceRecording(t, src, 2, 60, 3, 3)
	e, db := engineWithStore(t, t.TempDir())
	req := newRequest(t, addr, src)
	req.ChunkSeconds = 15
	req.Speakers = &SpeakerOptions{Count: 2}
	res, err := e.Transcribe(context.Background(), req, nil)
	if err != nil || res.Diarization != DiarizationDone {
		t.Fatalf("%v %q %q", err, res.Diarization, res.DiarizationError)
	}
	first := sent.Swap(0)
	if first == 0 {
		t.Fatal("no embeddings were asked for")
	}

	// With the history entry gone, the speech is sent again but the
	// embeddings stored per chunk are not.
	if err := db.DeleteTranscript(context.Background(), res.HistoryID); err != nil {
		t.Fatal(err)
	}
	res, err = e.Transcribe(context.Background(), req, nil)
	if err != nil || res.Reused || res.Diarization != DiarizationDone {
		t.Fatalf("%v reused %v %q", err, res.Reused, res.Diarization)
	}
	if n := sent.Load(); n != 0 {
		t.Errorf("%d embedding requests for a file whose embeddings are stored", n)
	}
	if acc := speakerAccuracy(t, res.Transcript, presses); acc != 1 {
		t.Errorf("accuracy %.3f", acc)
	}

	// Diarizing again keeps a name the user gave; later with another
	// count reuses the embeddings too; Force sends them again.
	if _, err := db.RenameSpeaker(context.Background(), res.HistoryID, "Speaker 2", "Ana"); err != nil {
		t.Fatal(err)
	}
	again, err := e.Diarize(context.Background(), DiarizeRequest{HistoryID: res.HistoryID, Server: addr, Speakers: SpeakerOptions{Count: 2}}, nil)
	if err != nil || len(again.Transcript.Speakers) != 2 || again.Transcript.Speakers[1].Label != "Ana" || again.Transcript.Speakers[0].Label != "Speaker 1" {
		t.Fatalf("diarized again: %+v %v", again.Transcript.Speakers, err)
	}
	if acc := speakerAccuracy(t, again.Transcript, presses); acc != 1 {
		t.Errorf("accuracy diarized again %.3f", acc)
	}
	var prog recorder
	d, err := e.Diarize(context.Background(), DiarizeRequest{HistoryID: res.HistoryID, Server: addr, Speakers: SpeakerOptions{Count: 1}}, prog.add)
	if err != nil || len(d.Transcript.Speakers) != 1 || sent.Load() != 0 {
		t.Fatalf("diarize later: %v, %d speakers, %d requests", err, len(d.Transcript.Speakers), sent.Load())
	}
	if end := prog.ps[len(prog.ps)-1]; end.Stage != StageDone || end.Fraction != 1 {
		t.Errorf("last progress %+v", end)
	}
	_, stored, err := db.Transcript(context.Background(), res.HistoryID)
	if err != nil || len(stored.Speakers) != 1 {
		t.Fatalf("history after diarize: %+v %v", stored.Speakers, err)
	}
	if _, err := e.Diarize(context.Background(), DiarizeRequest{HistoryID: res.HistoryID, Server: addr, Force: true}, nil); err != nil {
		t.Fatal(err)
	}
	if sent.Load() != first {
		t.Errorf("forced: %d embedding requests, the first run sent %d", sent.Load(), first)
	}
}

// failingVoices is the voices model answering INTERNAL once it has
// answered ok times.
type failingVoices struct {
	tritontest.Model
	ok    int64
	calls atomic.Int64
}

func (f *failingVoices) Execute(ctx context.Context, in []tritontest.Tensor, p map[string]*pb.InferParameter) ([]tritontest.Tensor, error) {
	if f.calls.Add(1) > f.ok {
		return nil, status.Error(codes.Internal, "titanet: CUDA error: an illegal memory access was encountered")
	}
	return f.Model.Execute(ctx, in, p)
}

// noSpans is the voices model with a config that breaks the contract: no
// SPANS input.
type noSpans struct{ tritontest.Model }

func (m noSpans) Config() *pb.ModelConfig {
	c := m.Model.Config()
	c.Input = c.Input[:1]
	return c
}

func TestSpeakerModelFailureKeepsTheTranscript(t *testing.T) {
	for _, tc := range []struct {
		name  string
		model tritontest.Model
		// unload, when set, unloads the voices model once it has answered
		// this many requests.
		unload int64
	}{
		{"model error", &failingVoices{Model: tritontest.Voices(), ok: 1}, 0},
		{"contract mismatch", noSpans{tritontest.Voices()}, 0},
		{"unloaded mid-job", tritontest.Voices(), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var srv *tritontest.Server
			var seen atomic.Int64
			srv, addr := tritontest.StartServer(t, tritontest.Options{Models: []tritontest.Model{tritontest.DTMF(), tc.model},
				Inspect: func(_ context.Context, r *pb.ModelInferRequest) {
					if tc.unload > 0 && r.GetModelName() == tritontest.VoicesModelName && seen.Add(1) == tc.unload {
						srv.RepositoryModelUnload(context.Background(), &pb.RepositoryModelUnloadRequest{ModelName: tritontest.VoicesModelName})
					}
				}})
			src := filepath.Join(t.TempDir(), "two.wav")
			presses := voiceRecording(t, src, 2, 60, 3, 5)
			e, err := Open(Config{DataDir: t.TempDir(), Connect: fastRetries})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			req := newRequest(t, addr, src)
			req.ChunkSeconds = 10
			req.Concurrency = 1
			req.Speakers = &SpeakerOptions{}
			q := NewQueue(e, QueueOptions{})
			defer q.Close()
			id, err := q.Add(req)
			if err != nil {
				t.Fatal(err)
			}
			if err := q.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			job, _ := q.Job(id)
			if job.State != StageDone || job.Diarization != DiarizationFailed || !strings.Contains(job.DiarizationError, "speakers") || len(job.Warnings) == 0 {
				t.Fatalf("job %s, diarization %q %q, warnings %q (%s)", job.State, job.Diarization, job.DiarizationError, job.Warnings, job.Error)
			}
			// The warning reaches the UI in its language: keyed, one for one.
			if len(job.WarningTexts) != len(job.Warnings) || job.WarningTexts[len(job.WarningTexts)-1].Key == "" {
				t.Fatalf("warning texts %+v for warnings %q", job.WarningTexts, job.Warnings)
			}
			res, err := q.Result(id)
			if err != nil {
				t.Fatal(err)
			}
			words := 0
			for _, s := range res.Transcript.Segments {
				words += len(s.Words)
				if s.Speaker != "" {
					t.Fatalf("segment with a speaker after a failure: %+v", s)
				}
			}
			if words != len(presses) || res.Transcript.Speakers != nil || res.HistoryID == 0 {
				t.Errorf("%d words for %d presses, speakers %+v, history %d", words, len(presses), res.Transcript.Speakers, res.HistoryID)
			}
			t.Log(job.DiarizationError)
		})
	}
}

func TestNoSpeakerModelFailsBeforeSpeech(t *testing.T) {
	var asr atomic.Int64
	addr := speakerServer(t, func(context.Context, *pb.ModelInferRequest) { asr.Add(1) }, tritontest.DTMF())
	src := filepath.Join(t.TempDir(), "a.wav")
	voiceRecording(t, src, 2, 20, 2, 1)
	e := NewEngine()
	defer e.Close()
	for _, model := range []string{"", "titanet-large"} {
		req := newRequest(t, addr, src)
		req.Speakers = &SpeakerOptions{Model: model}
		_, err := e.Transcribe(context.Background(), req, nil)
		if apperr.CodeOf(err) != apperr.CodeUnknownModel || !strings.Contains(apperr.Message(err), "speaker") && !strings.Contains(apperr.Message(err), model) {
			t.Errorf("model %q: %v (%s)", model, err, apperr.CodeOf(err))
		}
	}
	if asr.Load() != 0 {
		t.Errorf("%d requests before failing", asr.Load())
	}
	if _, err := e.Transcribe(context.Background(), Request{Path: src, Server: addr, Model: "dtmf", Speakers: &SpeakerOptions{Min: 3, Max: 2}}, nil); apperr.CodeOf(err) != apperr.CodeBadInput {
		t.Errorf("min above max: %v", err)
	}
}

func TestOneVoiceAndSilence(t *testing.T) {
	addr := speakerServer(t, nil)
	dir := t.TempDir()
	one := filepath.Join(dir, "one.wav")
	voiceRecording(t, one, 1, 40, 1, 2)
	short := filepath.Join(dir, "short.wav")
	writeWAV(t, short, []dtmf.Press{{Key: '4', Start: 1, End: 1.4}, {Key: '2', Start: 2, End: 2.3}}, 16000, 3, 0)
	quiet := filepath.Join(dir, "quiet.wav")
	writeWAV(t, quiet, nil, 16000, 20, 0)
	e := NewEngine()
	defer e.Close()
	for _, tc := range []struct {
		src  string
		opts SpeakerOptions
		want int
	}{
		{one, SpeakerOptions{}, 1},
		{short, SpeakerOptions{Count: 4}, 2}, // four asked, two words: at most one speaker each
		{quiet, SpeakerOptions{Count: 3}, 1},
	} {
		req := newRequest(t, addr, tc.src)
		req.Speakers = &tc.opts
		res, err := e.Transcribe(context.Background(), req, nil)
		if err != nil || res.Diarization != DiarizationDone {
			t.Fatalf("%s %+v: %v %q", filepath.Base(tc.src), tc.opts, err, res.DiarizationError)
		}
		if n := len(res.Transcript.Speakers); n > tc.want || (tc.src == one && n != tc.want) {
			t.Errorf("%s %+v: %d speakers %+v", filepath.Base(tc.src), tc.opts, n, res.Transcript.Speakers)
		}
	}
}

func TestResumedJobSendsOnlyMissingEmbeddings(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "two.wav")
	voiceRecording(t, src, 2, 90, 3, 9)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sent atomic.Int64
	addr := speakerServer(t, func(_ context.Context, r *pb.ModelInferRequest) {
		if r.GetModelName() == tritontest.VoicesModelName && sent.Add(1) == 3 {
			cancel() // the first run stops after a few embeddings
		}
	})
	e, db := engineWithStore(t, filepath.Join(dir, "data"))
	req := newRequest(t, addr, src)
	req.ChunkSeconds = 10
	req.Concurrency = 1
	req.Speakers = &SpeakerOptions{}
	if _, err := e.Transcribe(ctx, req, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	plan := speakerPlanKey(hex.EncodeToString(sum[:]), addr, tritontest.VoicesModelName, "1", decodeOptions{}, newChunkPlan(10), SpansWords)
	kept, err := db.EmbeddingsFor(context.Background(), plan)
	if err != nil || len(kept) == 0 {
		t.Fatalf("stored after the first run: %d, %v", len(kept), err)
	}

	sent.Store(100) // no more cancelling
	res, err := e.Transcribe(context.Background(), req, nil)
	if err != nil || res.Diarization != DiarizationDone || len(res.Transcript.Speakers) != 2 {
		t.Fatalf("resumed: %v %q %d speakers", err, res.Diarization, len(res.Transcript.Speakers))
	}
	resumed := sent.Load() - 100
	all, err := db.EmbeddingsFor(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(all) - len(kept)); resumed != want {
		t.Errorf("resumed run sent %d embedding requests; %d of %d chunks were stored before, so want %d", resumed, len(kept), len(all), want)
	}
}

func TestDiarizeLaterFindsTheAudio(t *testing.T) {
	addr := speakerServer(t, nil)
	dir := t.TempDir()
	src := filepath.Join(dir, "two.wav")
	presses := voiceRecording(t, src, 2, 30, 2, 4)
	e, err := Open(Config{DataDir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	req := newRequest(t, addr, src)
	res, err := e.Transcribe(context.Background(), req, nil) // no speakers asked for
	if err != nil || res.Transcript.Speakers != nil {
		t.Fatalf("%v %+v", err, res.Transcript.Speakers)
	}
	later := DiarizeRequest{HistoryID: res.HistoryID, Server: addr, CacheDir: req.CacheDir}

	// The staged copy gone: the source is staged again.
	if err := os.RemoveAll(req.CacheDir); err != nil {
		t.Fatal(err)
	}
	d, err := e.Diarize(context.Background(), later, nil)
	if err != nil || len(d.Transcript.Speakers) != 2 || d.Diarization != DiarizationDone {
		t.Fatalf("from the source: %v, %+v", err, d.Transcript.Speakers)
	}
	if acc := speakerAccuracy(t, d.Transcript, presses); acc != 1 {
		t.Errorf("accuracy %.3f", acc)
	}

	// Both gone: a sentence saying so, and the entry as it was.
	if err := os.RemoveAll(req.CacheDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(src); err != nil {
		t.Fatal(err)
	}
	d, err = e.Diarize(context.Background(), later, nil)
	if err == nil || !strings.Contains(apperr.Message(err), "is gone") || len(d.Transcript.Speakers) != 2 {
		t.Errorf("both gone: %v, %d speakers kept", err, len(d.Transcript.Speakers))
	}
	if _, err := e.Diarize(context.Background(), DiarizeRequest{HistoryID: 999, Server: addr}, nil); apperr.CodeOf(err) != apperr.CodeBadInput {
		t.Errorf("unknown entry: %v", err)
	}
}

func TestSpanAudio(t *testing.T) {
	samples := make([]float32, 100)
	for i := range samples {
		samples[i] = float32(i)
	}
	for _, tc := range []struct {
		spans, want [][2]int64
		clip        int
	}{
		{nil, [][2]int64{}, 0},
		{[][2]int64{{10, 20}}, [][2]int64{{0, 10}}, 10},
		{[][2]int64{{10, 20}, {15, 30}, {50, 60}}, [][2]int64{{0, 10}, {5, 20}, {20, 30}}, 30},
		{[][2]int64{{0, 10}, {10, 20}}, [][2]int64{{0, 10}, {10, 20}}, 20},
		{[][2]int64{{0, 50}, {10, 20}, {40, 90}}, [][2]int64{{0, 50}, {10, 20}, {40, 90}}, 90},
	} {
		clip, at := spanAudio(samples, tc.spans)
		if len(clip) != tc.clip || len(at) != len(tc.want) {
			t.Fatalf("%v: clip of %d, spans %v", tc.spans, len(clip), at)
		}
		for i, sp := range at {
			if sp != tc.want[i] {
				t.Errorf("%v: span %d at %v, want %v", tc.spans, i, sp, tc.want[i])
			}
			// The same samples as the span of the chunk.
			for k := range sp[1] - sp[0] {
				if clip[sp[0]+k] != samples[tc.spans[i][0]+k] {
					t.Fatalf("%v: span %d sample %d differs", tc.spans, i, k)
				}
			}
		}
	}
}

// engineWithStore is an engine over a history database of the test's own
// in dir, for tests that look into the database behind the engine.
func engineWithStore(t *testing.T, dir string) (*Engine, *store.DB) {
	t.Helper()
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e, err := Open(Config{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, db
}
