// Command speakersbench measures diarization through the whole engine
// against the in-process test server (dtmf speech model, voices speaker
// model), as bench/speakers/run.sh runs it:
//
//	speakersbench accuracy -minutes 10 -voices 2-8 -turns 1-6 -spans words,windows
//	speakersbench overhead -minutes 60 -latency 100ms -batch 8
//
// accuracy: one recording per voice count, random keys spoken in random
// turns of 1 to 6 presses; every word is matched to its press and the
// share with the right speaker (after the best label mapping) is printed,
// overall and for the words within 2 s of a chunk cut, with the speakers
// found by auto.
//
// overhead: one recording transcribed twice by fresh engines on a server
// with a dynamic batcher in front of both models (every execution costs
// -latency, as on a GPU; the models themselves answer at once, with a
// word every 0.75 s and an embedding per span, so the test models' own
// signal processing on the client's cores is not what is measured), without and with --speakers auto, alternating which goes
// first; the median time with divided by the median without is the cost
// of diarization.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize/diarizetest"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/voices"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: speakersbench accuracy|overhead [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "accuracy":
		err = accuracy(os.Args[2:])
	case "overhead":
		err = overhead(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "speakersbench:", err)
		os.Exit(1)
	}
}

// recording writes seconds of random presses spoken by n voices in random
// turns of minTurn..maxTurn presses (16 kHz mono 16-bit) and returns the
// presses with their voices.
func recording(path string, n int, seconds float64, minTurn, maxTurn int, seed uint64) ([]voices.Press, error) {
	f0s, err := voices.Spread(n)
	if err != nil {
		return nil, err
	}
	keys := voices.RandomPresses(seconds, 0.25, 0.6, 0.1, 0.8, seed)
	who := voices.RandomTurns(len(keys), n, minTurn, maxTurn, seed)
	presses := make([]voices.Press, len(keys))
	for i, k := range keys {
		presses[i] = voices.Press{Press: k, F0: f0s[who[i]]}
	}
	samples := voices.Synthesize(presses, audio.SampleRate, seconds, dtmf.SynthOptions{NoiseDB: -50, Seed: seed})
	var buf bytes.Buffer
	if err := audio.WriteWAV(&buf, samples, audio.SampleRate, 1, audio.PCM16); err != nil {
		return nil, err
	}
	return presses, os.WriteFile(path, buf.Bytes(), 0o644)
}

func serve(opts tritontest.Options) (string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	s := tritontest.New(opts)
	go s.Serve(lis)
	return lis.Addr().String(), func() { s.StopWithin(time.Second) }, nil
}

func parseRange(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || lo < 1 || hi < lo {
		return 0, 0, fmt.Errorf("%q is not a range such as 2-8", s)
	}
	return lo, hi, nil
}

// cuts are the chunk boundaries the engine's chunker makes of path, in
// seconds, with the engine's default chunk plan.
func cuts(path string, chunkSeconds float64) ([]float64, error) {
	d, err := audio.Open(path, audio.Options{})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	ch := audio.NewChunker(d, audio.ChunkOptions{MaxSeconds: chunkSeconds, SearchSeconds: math.Min(audio.DefaultSearchSeconds, chunkSeconds/2),
		FrameMs: audio.DefaultFrameMs, SilenceDBFS: audio.DefaultSilenceDBFS})
	var out []float64
	for {
		c, err := ch.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if c.Offset > 0 {
			out = append(out, float64(c.Offset)/audio.SampleRate)
		}
	}
}

// score matches words to presses: the accuracy over all words and over
// those within near seconds of a cut, and how many of those there were.
func score(tr transcript.Transcript, presses []voices.Press, cutAt []float64, near float64) (all, nearCut float64, nNear, words int) {
	index := map[string]int{}
	for i, s := range tr.Speakers {
		index[s.Label] = i
	}
	voiceOf := map[float64]int{}
	var truth, pred, truthN, predN []int
	for _, seg := range tr.Segments {
		for _, w := range seg.Words {
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
			l, ok := index[w.Speaker]
			if !ok {
				l = -1
			}
			truth, pred = append(truth, v), append(pred, l)
			for _, c := range cutAt {
				if math.Abs((w.Start+w.End)/2-c) <= near {
					truthN, predN = append(truthN, v), append(predN, l)
					break
				}
			}
		}
	}
	all, mapping := diarizetest.Accuracy(truth, pred)
	right := 0
	for i := range truthN {
		if predN[i] >= 0 && mapping[predN[i]] == truthN[i] {
			right++
		}
	}
	nearCut = 1
	if len(truthN) > 0 {
		nearCut = float64(right) / float64(len(truthN))
	}
	return all, nearCut, len(truthN), len(truth)
}

func accuracy(args []string) error {
	fs := flag.NewFlagSet("accuracy", flag.ExitOnError)
	minutes := fs.Float64("minutes", 10, "length of each recording")
	voiceRange := fs.String("voices", "2-8", "voice counts, one recording each")
	turnRange := fs.String("turns", "1-6", "presses per turn")
	spanList := fs.String("spans", "words", "what to embed, comma-separated: words, windows")
	chunk := fs.Float64("chunk-seconds", transcribe.DefaultChunkSeconds, "longest chunk")
	fs.Parse(args)
	vlo, vhi, err := parseRange(*voiceRange)
	if err != nil {
		return err
	}
	tlo, thi, err := parseRange(*turnRange)
	if err != nil {
		return err
	}
	addr, stop, err := serve(tritontest.Options{Models: []tritontest.Model{tritontest.DTMF(), tritontest.Voices()}})
	if err != nil {
		return err
	}
	defer stop()
	dir, err := os.MkdirTemp("", "speakersbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("%-8s %6s %6s %8s %9s %10s %6s %8s %8s\n", "spans", "voices", "words", "found", "accuracy", "near_cuts", "cuts", "near_acc", "seconds")
	fail := false
	for n := vlo; n <= vhi; n++ {
		src := filepath.Join(dir, fmt.Sprintf("voices%d.wav", n))
		presses, err := recording(src, n, *minutes*60, tlo, thi, uint64(100+n))
		if err != nil {
			return err
		}
		cutAt, err := cuts(src, *chunk)
		if err != nil {
			return err
		}
		for _, mode := range strings.Split(*spanList, ",") {
			e, err := transcribe.Open(transcribe.Config{CacheDir: filepath.Join(dir, "cache"), ChunkSeconds: *chunk, SpeakerSpans: transcribe.SpanMode(mode)})
			if err != nil {
				return err
			}
			start := time.Now()
			res, err := e.Transcribe(context.Background(), transcribe.Request{Path: src, Server: addr, Model: tritontest.DTMFModelName,
				Timestamps: true, Speakers: &transcribe.SpeakerOptions{}}, nil)
			e.Close()
			if err != nil {
				return err
			}
			if res.Diarization != transcribe.DiarizationDone {
				return fmt.Errorf("%d voices: %s", n, res.DiarizationError)
			}
			all, nearAcc, nNear, words := score(res.Transcript, presses, cutAt, 2)
			found := len(res.Transcript.Speakers)
			fmt.Printf("%-8s %6d %6d %8d %8.2f%% %10d %6d %7.2f%% %8.1f\n", mode, n, words, found, 100*all, nNear, len(cutAt), 100*nearAcc, time.Since(start).Seconds())
			if mode == string(transcribe.SpansWords) && (all < 0.98 || nearAcc < 0.98 || found != n || words != len(presses)) {
				fail = true
			}
		}
	}
	if fail {
		fmt.Println("TARGET MISSED: below 98% of words, a wrong speaker count, or words lost (words rows)")
		return errors.New("target missed")
	}
	fmt.Println("targets met (words): >= 98% of words and of words within 2 s of a cut, exact count with auto, every voice count")
	return nil
}

func overhead(args []string) error {
	fs := flag.NewFlagSet("overhead", flag.ExitOnError)
	minutes := fs.Float64("minutes", 60, "length of the recording")
	latency := fs.Duration("latency", 100*time.Millisecond, "simulated compute time of one execution, every model")
	batch := fs.Int("batch", 8, "largest batch")
	concurrency := fs.Int("concurrency", transcribe.DefaultConcurrency, "requests in flight")
	rounds := fs.Int("rounds", 1, "pairs of runs, alternating; the medians are compared")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the runs with speakers to `FILE`")
	fs.Parse(args)
	dir, err := os.MkdirTemp("", "speakersbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "hour.wav")
	if _, err := recording(src, 6, *minutes*60, 1, 6, 6); err != nil {
		return err
	}
	addr, stop, err := serve(tritontest.Options{Models: []tritontest.Model{
		gpuSpeech{tritontest.DTMFWith(tritontest.DTMFOptions{FP32Only: true})}, gpuVoices{tritontest.Voices()}},
		Batching: &tritontest.Batching{MaxBatch: *batch, Latency: *latency, Window: 2 * time.Millisecond}})
	if err != nil {
		return err
	}
	defer stop()
	runs := 0
	var clusterSecs []float64
	once := func(spk *transcribe.SpeakerOptions) (float64, int, error) {
		runs++ // a cache folder each: every run stages its copy
		e, err := transcribe.Open(transcribe.Config{CacheDir: filepath.Join(dir, fmt.Sprint("cache", runs)), Concurrency: *concurrency})
		if err != nil {
			return 0, 0, err
		}
		defer e.Close()
		start := time.Now()
		var finding time.Time // when the last chunk was in and clustering began
		res, err := e.Transcribe(context.Background(), transcribe.Request{Path: src, Server: addr, Model: tritontest.DTMFModelName,
			Timestamps: true, Speakers: spk}, func(p transcribe.Progress) {
			if strings.Contains(p.Note, "speakers") {
				finding = time.Now()
			}
		})
		if err != nil {
			return 0, 0, err
		}
		if !finding.IsZero() {
			clusterSecs = append(clusterSecs, time.Since(finding).Seconds())
		}
		if spk != nil && res.Diarization != transcribe.DiarizationDone {
			return 0, 0, errors.New(res.DiarizationError)
		}
		return time.Since(start).Seconds(), len(res.Transcript.Speakers), nil
	}
	var plain, with []float64
	found := 0
	for r := range *rounds {
		// Alternating which goes first evens out a warming machine.
		for k := range 2 {
			if (r+k)%2 == 0 {
				t, _, err := once(nil)
				if err != nil {
					return err
				}
				plain = append(plain, t)
				continue
			}
			if *profile != "" {
				f, err := os.Create(*profile)
				if err != nil {
					return err
				}
				pprof.StartCPUProfile(f)
			}
			t, n, err := once(&transcribe.SpeakerOptions{})
			if *profile != "" {
				pprof.StopCPUProfile()
			}
			if err != nil {
				return err
			}
			with, found = append(with, t), n
		}
	}
	p, w := median(plain), median(with)
	ratio := w / p
	fmt.Printf("minutes=%g latency=%s batch=%d concurrency=%d without=%.2fs with=%.2fs ratio=%.3f speakers=%d clustering=%.2fs\n",
		*minutes, *latency, *batch, *concurrency, p, w, ratio, found, median(clusterSecs))
	if ratio > 1.3 {
		fmt.Println("TARGET MISSED: diarization costs more than 1.3x")
		return errors.New("target missed")
	}
	fmt.Println("target met: diarization costs at most 1.3x the time without it")
	return nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

// gpuSpeech answers every row at once with a word every 0.75 s of its
// audio: the batcher in front supplies the time.
type gpuSpeech struct{ tritontest.Model }

func (m gpuSpeech) Execute(_ context.Context, in []tritontest.Tensor, _ map[string]*pb.InferParameter) ([]tritontest.Tensor, error) {
	a := in[0]
	rows, n := a.Shape[0], a.Shape[1]
	var ts struct {
		Words    []map[string]any `json:"words"`
		Segments []map[string]any `json:"segments"`
	}
	secs := float64(n) / audio.SampleRate
	var text []string
	for t := 0.2; t+0.3 < secs; t += 0.75 {
		ts.Words = append(ts.Words, map[string]any{"word": "x", "start": t, "end": t + 0.3})
		text = append(text, "x")
	}
	if len(text) > 0 {
		ts.Segments = append(ts.Segments, map[string]any{"text": strings.Join(text, " "), "start": 0.2, "end": ts.Words[len(ts.Words)-1]["end"]})
	}
	js, _ := json.Marshal(ts)
	texts, times := make([][]byte, rows), make([][]byte, rows)
	for i := range rows {
		texts[i], times[i] = []byte(strings.Join(text, " ")), js
	}
	shape := []int64{rows, 1}
	return []tritontest.Tensor{
		{Name: models.OutputTranscript, Datatype: models.DatatypeBytes, Shape: shape, Data: triton.EncodeBytes(texts)},
		{Name: models.OutputTimestamps, Datatype: models.DatatypeBytes, Shape: shape, Data: triton.EncodeBytes(times)},
	}, nil
}

// gpuVoices answers every span at once with one of six unit vectors in
// turn.
type gpuVoices struct{ tritontest.Model }

func (m gpuVoices) Execute(_ context.Context, in []tritontest.Tensor, _ map[string]*pb.InferParameter) ([]tritontest.Tensor, error) {
	spans := in[1]
	rows, k := spans.Shape[0], spans.Shape[1]
	d := int64(voices.EmbeddingSize)
	out := make([]float32, rows*k*d)
	for i := range rows * k {
		out[i*d+i%6] = 1
	}
	return []tritontest.Tensor{{Name: models.OutputEmbeddings, Datatype: models.DatatypeFP32,
		Shape: []int64{rows, k, d}, Data: triton.EncodeFP32(out)}}, nil
}
