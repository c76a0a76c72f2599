// Command enginebench measures the transcription engine against anchors
// taken in the same run (see run.sh):
//
//	enginebench throughput  a queue of many files against a test server that
//	                        simulates a batching GPU (one model instance,
//	                        max batch 8, 100 ms per execution whatever its
//	                        size). Anchors: the server's capacity (8 chunks
//	                        per 100 ms) and a bare client that keeps the
//	                        server fed with chunks decoded beforehand.
//	enginebench hour        one hour of MP3 through the whole pipeline
//	                        (stage, decode, chunk, infer, stitch, store,
//	                        export) against a zero-latency test server.
//	                        Anchor: ffmpeg decoding the same file to 16 kHz
//	                        mono float, and nothing else. -procs sets the
//	                        GOMAXPROCS values measured (the number of
//	                        ffmpeg processes decoding the file at once).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/bench/internal/hoststeal"
	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: enginebench throughput|hour [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "throughput":
		err = throughput(os.Args[2:])
	case "hour":
		err = hour(os.Args[2:])
	case "serve":
		err = serveBatching(os.Args[2:])
	default:
		err = fmt.Errorf("unknown benchmark %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "enginebench:", err)
		os.Exit(1)
	}
}

// gpuModel answers every row at once with a fixed word: the batcher in
// front of it supplies the time, so an execution costs what a GPU's would
// and nothing more.
type gpuModel struct{ tritontest.Model }

func (m gpuModel) Execute(_ context.Context, in []tritontest.Tensor, _ map[string]*pb.InferParameter) ([]tritontest.Tensor, error) {
	rows := int64(1)
	for _, t := range in { // whatever form the audio takes (FP32, INT16, ...)
		if len(t.Shape) > 0 {
			rows = t.Shape[0]
			break
		}
	}
	texts, times := make([][]byte, rows), make([][]byte, rows)
	for i := range rows {
		texts[i] = []byte("x")
		times[i] = []byte(`{"words":[{"word":"x","start":0.1,"end":0.2}],"segments":[{"text":"x","start":0.1,"end":0.2}]}`)
	}
	shape := []int64{rows, 1}
	return []tritontest.Tensor{
		{Name: models.OutputTranscript, Datatype: models.DatatypeBytes, Shape: shape, Data: triton.EncodeBytes(texts)},
		{Name: models.OutputTimestamps, Datatype: models.DatatypeBytes, Shape: shape, Data: triton.EncodeBytes(times)},
	}, nil
}

// serve starts a test server on a free port.
func serve(opts tritontest.Options) (string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	s := tritontest.New(opts)
	go s.Serve(lis)
	return lis.Addr().String(), func() { s.StopWithin(time.Second) }, nil
}

// batchingServer is the simulated batching GPU server, in its own process
// (enginebench serve) unless inproc: a real server is another process,
// whose timers the client's busy goroutines cannot hold up. In one Go
// process they can: the batcher's max_queue_delay timer, due 20 ms after
// the first request, was seen firing 70 ms late behind the queue's
// decoding and encoding, sending out a first batch of 2 to 4.
type batchingServer struct {
	addr string
	stop func() (first, last int64, err error) // arrival of the first and last request (Unix ns)
}

func startBatching(inproc bool, batch int, latency, window time.Duration) (batchingServer, error) {
	if inproc {
		var first, last atomic.Int64
		addr, stop, err := serve(batchingOptions(batch, latency, window, &first, &last))
		if err != nil {
			return batchingServer{}, err
		}
		return batchingServer{addr, func() (int64, int64, error) { stop(); return first.Load(), last.Load(), nil }}, nil
	}
	self, err := os.Executable()
	if err != nil {
		return batchingServer{}, err
	}
	cmd := exec.Command(self, "serve", "-batch", fmt.Sprint(batch), "-latency", latency.String(), "-window", window.String())
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return batchingServer{}, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return batchingServer{}, err
	}
	if err := cmd.Start(); err != nil {
		return batchingServer{}, err
	}
	lines := bufio.NewScanner(out)
	var addr string
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "listening ") {
		in.Close()
		cmd.Wait()
		return batchingServer{}, fmt.Errorf("the server process did not start: %q", lines.Text())
	}
	addr = strings.TrimPrefix(lines.Text(), "listening ")
	return batchingServer{addr, func() (int64, int64, error) {
		in.Close() // its signal to stop
		var first, last int64
		if lines.Scan() {
			fmt.Sscanf(lines.Text(), "requests %d %d", &first, &last)
		}
		return first, last, cmd.Wait()
	}}, nil
}

func batchingOptions(batch int, latency, window time.Duration, first, last *atomic.Int64) tritontest.Options {
	return tritontest.Options{Models: []tritontest.Model{gpuModel{tritontest.DTMF()}},
		Batching: &tritontest.Batching{MaxBatch: batch, Latency: latency, Window: window},
		Inspect: func(context.Context, *pb.ModelInferRequest) {
			now := time.Now().UnixNano()
			first.CompareAndSwap(0, now)
			last.Store(now)
		}}
}

// serveBatching is "enginebench serve": the simulated batching server on
// a free port, announced on stdout, until stdin closes; then it prints
// when the first and last requests arrived.
func serveBatching(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	batch := fs.Int("batch", 8, "max batch")
	latency := fs.Duration("latency", 100*time.Millisecond, "time per execution")
	window := fs.Duration("window", 20*time.Millisecond, "max_queue_delay")
	fs.Parse(args)
	var first, last atomic.Int64
	addr, stop, err := serve(batchingOptions(*batch, *latency, *window, &first, &last))
	if err != nil {
		return err
	}
	fmt.Println("listening", addr)
	io.Copy(io.Discard, os.Stdin)
	stop()
	fmt.Println("requests", first.Load(), last.Load())
	return nil
}

// writeNoiseWAV writes seconds of quiet noise with a few key presses, 16
// kHz mono 16-bit: audible, so no chunk is skipped as silent.
func writeNoiseWAV(path string, seconds float64, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	var presses []dtmf.Press
	for at := 1 + rng.Float64(); at < seconds-1; at += 5 + 5*rng.Float64() {
		presses = append(presses, dtmf.Press{Key: '5', Start: at, End: at + 0.2})
	}
	samples := dtmf.Synthesize(presses, 16000, seconds, dtmf.SynthOptions{NoiseDB: -40, Seed: seed + 1})
	var buf bytes.Buffer
	if err := audio.WriteWAV(&buf, samples, 16000, 1, audio.PCM16); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func throughput(args []string) error {
	fs := flag.NewFlagSet("throughput", flag.ExitOnError)
	files := fs.Int("files", 40, "files in the queue")
	seconds := fs.Float64("seconds", 90, "length of each file")
	batch := fs.Int("batch", 8, "the server's max batch")
	latency := fs.Duration("latency", 100*time.Millisecond, "the server's time per execution")
	window := fs.Duration("window", 20*time.Millisecond, "the server's max_queue_delay (models/repository's configs: 20 ms)")
	concs := fs.String("concurrency", "8,16", "pool sizes to measure, comma-separated")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the queue runs to this file")
	inproc := fs.Bool("inproc", false, "run the simulated server in this process (by default it is a process of its own, as a real server)")
	format := fs.String("format", "wav", "the files: wav (16 kHz mono 16-bit, decoded without ffmpeg) or mp3 (44.1 kHz stereo 128 kb/s, through ffmpeg)")
	fs.Parse(args)
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	work, err := os.MkdirTemp("", "enginebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	var paths []string
	for i := range *files {
		p := filepath.Join(work, fmt.Sprintf("f%03d.wav", i))
		if err := writeNoiseWAV(p, *seconds, uint64(i)); err != nil {
			return err
		}
		switch *format {
		case "wav":
		case "mp3":
			mp3 := strings.TrimSuffix(p, ".wav") + ".mp3"
			cmd := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-i", p, "-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", "-y", mp3)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("encoding %s (needs ffmpeg): %v: %s", mp3, err, out)
			}
			p = mp3
		default:
			return fmt.Errorf("-format %q: use wav or mp3", *format)
		}
		paths = append(paths, p)
	}
	capacity := float64(*batch) / latency.Seconds()
	fmt.Printf("queue: %d %s files of %.0f s; server: max batch %d, %v per execution, max queue delay %v, capacity %.1f chunks/s\n",
		*files, *format, *seconds, *batch, *latency, *window, capacity)

	for _, cs := range strings.Split(*concs, ",") {
		var conc int
		fmt.Sscan(cs, &conc)
		// Anchor: a bare client with every chunk decoded beforehand.
		steal0 := hoststeal.Now()
		srv, err := startBatching(*inproc, *batch, *latency, *window)
		if err != nil {
			return err
		}
		chunks, err := cutAll(paths)
		if err != nil {
			return err
		}
		bare, err := bareClient(srv.addr, chunks, conc)
		srv.stop()
		if err != nil {
			return err
		}

		// Ours: the queue, from the files on disk to exports.
		if srv, err = startBatching(*inproc, *batch, *latency, *window); err != nil {
			return err
		}
		t0 := time.Now()
		n, wall, st, err := runQueue(srv.addr, paths, conc, work)
		first, last, serr := srv.stop()
		since := func(ns int64) float64 { return time.Unix(0, ns).Sub(t0).Seconds() }
		if err = errors.Join(err, serr); err != nil {
			return err
		}
		rate := float64(n) / wall.Seconds()
		fmt.Printf("concurrency %2d: %d chunks in %.2f s = %.1f chunks/s = %.1f%% of capacity, %.1f%% of the bare client (%.1f chunks/s); mean batch %.2f; requests from %.2f s to %.2f s%s\n",
			conc, n, wall.Seconds(), rate, 100*rate/capacity, 100*rate/bare, bare, st, since(first), since(last), hoststeal.Now().Note(steal0))
	}
	return nil
}

// cutAll decodes and chunks every file as the engine would (all at once:
// this is the anchor's preparation, not what is measured).
func cutAll(paths []string) ([][]float32, error) {
	per := make([][][]float32, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dec, err := audio.Open(p, audio.Options{})
			if err != nil {
				errs[i] = err
				return
			}
			defer dec.Close()
			c := audio.NewChunker(dec, audio.ChunkOptions{})
			for {
				ch, err := c.Next()
				if err != nil {
					break
				}
				per[i] = append(per[i], ch.Samples)
			}
		}()
	}
	wg.Wait()
	var out [][]float32
	for i := range paths {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, per[i]...)
	}
	return out, nil
}

// bareClient sends every chunk with conc requests in flight and returns
// chunks per second.
func bareClient(addr string, chunks [][]float32, conc int) (float64, error) {
	s, err := inference.Connect(addr)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	ctx := context.Background()
	m, err := s.OpenModel(ctx, tritontest.DTMFModelName, inference.WaitOptions{})
	if err != nil {
		return 0, err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(chunks) {
					return
				}
				if _, err := m.Recognize(ctx, i, chunks[i], inference.Options{Timestamps: true}); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(len(chunks)) / time.Since(start).Seconds(), nil
}

// runQueue transcribes paths with a fresh database and returns the chunks
// the server answered, the wall time and the server's mean batch size.
func runQueue(addr string, paths []string, conc int, work string) (int, time.Duration, float64, error) {
	run, err := os.MkdirTemp(work, "run-")
	if err != nil {
		return 0, 0, 0, err
	}
	e, err := transcribe.Open(transcribe.Config{DataDir: filepath.Join(run, "data"), CacheDir: filepath.Join(run, "cache"), Concurrency: conc})
	if err != nil {
		return 0, 0, 0, err
	}
	defer e.Close()
	ctx := context.Background()
	if err := e.OpenModel(ctx, addr, tritontest.DTMFModelName, nil); err != nil {
		return 0, 0, 0, err
	}
	q := transcribe.NewQueue(e, transcribe.QueueOptions{})
	defer q.Close()
	start := time.Now()
	for _, p := range paths {
		if _, err := q.Add(transcribe.Request{Path: p, Server: addr, Model: tritontest.DTMFModelName, Timestamps: true,
			OutDir: filepath.Join(run, "out"), Formats: []string{"json", "srt"}}); err != nil {
			return 0, 0, 0, err
		}
	}
	added := time.Since(start)
	if err := q.Wait(ctx); err != nil {
		return 0, 0, 0, err
	}
	wall := time.Since(start)
	var started, finished []float64
	for _, j := range q.Jobs() {
		if j.State != transcribe.StageDone {
			return 0, 0, 0, fmt.Errorf("%s: %s %s", j.Request.Path, j.State, j.Error)
		}
		started = append(started, j.Started.Sub(start).Seconds())
		finished = append(finished, j.Finished.Sub(start).Seconds())
	}
	if os.Getenv("ENGINEBENCH_TIMELINE") != "" {
		slices.Sort(started)
		slices.Sort(finished)
		fmt.Printf("  added in %.3f s; jobs started %.3f..%.3f s, finished %.3f..%.3f s (last 8: %.3f), wall %.3f s\n",
			added.Seconds(), started[0], started[len(started)-1], finished[0], finished[len(finished)-1], finished[max(0, len(finished)-8):], wall.Seconds())
	}
	st, err := e.ServerStatus(ctx, addr)
	if err != nil {
		return 0, 0, 0, err
	}
	m := st.Models[0]
	return int(m.InferenceCount), wall, float64(m.InferenceCount) / float64(max(m.ExecutionCount, 1)), nil
}

func hour(args []string) error {
	fs := flag.NewFlagSet("hour", flag.ExitOnError)
	minutes := fs.Int("minutes", 60, "length of the recording")
	rounds := fs.Int("rounds", 3, "rounds of each side (the median is reported)")
	dir := fs.String("dir", os.TempDir(), "where the MP3 fixture is kept between runs")
	profile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	verbose := fs.Bool("v", false, "print when each stage began")
	instant := fs.Bool("instant", false, "the server answers at once without looking at the audio (else the dtmf model listens to every chunk)")
	fp32 := fs.Bool("fp32", false, "the server's model declares FP32 audio alone (no compact form: nothing to compress)")
	form := fs.String("form", "", "force the audio form the client sends (AUDIO, AUDIO_PCM16 or AUDIO_FLAC; default: the most compact the model declares)")
	procsList := fs.String("procs", "0", "GOMAXPROCS values to measure, comma-separated (0: all cores); the file is decoded by that many ffmpeg processes at once")
	fs.Parse(args)
	var procs []int
	for _, f := range strings.Split(*procsList, ",") {
		var n int
		fmt.Sscan(f, &n)
		if n <= 0 {
			n = runtime.NumCPU()
		}
		procs = append(procs, n)
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return fmt.Errorf("the hour benchmark needs ffmpeg (apt install ffmpeg): %w", err)
	}
	mp3 := filepath.Join(*dir, fmt.Sprintf("enginebench-%dmin.mp3", *minutes))
	if _, err := os.Stat(mp3); err != nil {
		fmt.Printf("encoding %d minutes of 44.1 kHz stereo MP3 (128 kb/s) to %s ...\n", *minutes, mp3)
		if err := makeMP3(ffmpeg, mp3, *minutes); err != nil {
			return err
		}
	}
	opts := tritontest.Options{}
	switch {
	case *instant:
		opts.Models = []tritontest.Model{gpuModel{tritontest.DTMFWith(tritontest.DTMFOptions{FP32Only: *fp32})}}
	case *fp32:
		opts.Models = []tritontest.Model{tritontest.DTMFWith(tritontest.DTMFOptions{FP32Only: true})}
	}
	addr, stop, err := serve(opts)
	if err != nil {
		return err
	}
	defer stop()

	var anchor []float64
	ours := make([][]float64, len(procs))
	for r := range *rounds {
		steal0 := hoststeal.Now()
		_, child0 := cpuTimes()
		t0 := time.Now()
		cmd := exec.Command(ffmpeg, "-v", "error", "-nostdin", "-i", mp3, "-ac", "1", "-ar", "16000", "-f", "f32le", "-y", os.DevNull)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("ffmpeg: %v: %s", err, out)
		}
		anchor = append(anchor, time.Since(t0).Seconds())
		_, child1 := cpuTimes()
		if *verbose {
			fmt.Printf("  round %d: anchor's ffmpeg %.2f s wall, %.2f s CPU\n", r+1, anchor[r], (child1 - child0).Seconds())
		}
		for k, p := range procs {
			wall, line, err := hourOnce(mp3, addr, *form, p, *verbose)
			if err != nil {
				return err
			}
			ours[k] = append(ours[k], wall)
			fmt.Printf("round %d: ffmpeg decode %.2f s; pipeline with GOMAXPROCS %d (%d decoders) %.2f s%s\n", r+1, anchor[r], p, p, wall, line)
		}
		if note := hoststeal.Now().Note(steal0); note != "" {
			fmt.Printf("round %d: %s during the round\n", r+1, note[2:])
		}
	}
	a := median(anchor)
	fmt.Printf("median of %d rounds: ffmpeg decode alone %.2f s (the anchor)\n", *rounds, a)
	for k, p := range procs {
		o := median(ours[k])
		fmt.Printf("  GOMAXPROCS %d, %d decoders: whole pipeline %.2f s = %.2fx the anchor (target at most 0.75x on 2 cores)\n", p, p, o, o/a)
	}
	return nil
}

// hourOnce runs the whole pipeline once on mp3 with GOMAXPROCS procs.
func hourOnce(mp3, addr, form string, procs int, verbose bool) (float64, string, error) {
	old := runtime.GOMAXPROCS(procs)
	defer runtime.GOMAXPROCS(old)
	os.Setenv(audio.RangesEnv, fmt.Sprint(procs)) // as many decoders, even on few cores
	defer os.Unsetenv(audio.RangesEnv)
	self1, child1 := cpuTimes()
	work, err := os.MkdirTemp("", "enginebench-hour-")
	if err != nil {
		return 0, "", err
	}
	defer os.RemoveAll(work)
	cfg := inference.Config{Addresses: []string{addr}, AudioInput: form}
	e, err := transcribe.Open(transcribe.Config{DataDir: filepath.Join(work, "data"), CacheDir: filepath.Join(work, "cache"),
		Connect: func(string) (*inference.Server, error) { return inference.ConnectConfig(cfg) }})
	if err != nil {
		return 0, "", err
	}
	defer e.Close()
	t0 := time.Now()
	var marks []string
	var last transcribe.Stage
	res, err := e.Transcribe(context.Background(), transcribe.Request{Path: mp3, Server: addr, Model: tritontest.DTMFModelName,
		Timestamps: true, OutDir: filepath.Join(work, "out"), Formats: []string{"json", "srt", "vtt", "txt"}}, func(p transcribe.Progress) {
		if p.Stage != last {
			marks = append(marks, fmt.Sprintf("%s %.2f", p.Stage, time.Since(t0).Seconds()))
			last = p.Stage
		}
	})
	wall := time.Since(t0).Seconds()
	self2, child2 := cpuTimes()
	if err != nil {
		return 0, "", err
	}
	if verbose {
		fmt.Println("    stages (s from start):", strings.Join(marks, ", "))
		fmt.Printf("    CPU: its ffmpeg/ffprobe %.2f s, this process (engine and test server) %.2f s\n",
			(child2 - child1).Seconds(), (self2 - self1).Seconds())
	}
	return wall, fmt.Sprintf(" (%.0f s of audio, %d segments)", res.Transcript.Duration, len(res.Transcript.Segments)), nil
}

// makeMP3 encodes quiet noise with a key press ("5") every 7.3 s, made by
// ffmpeg itself so that an hour never sits in memory.
func makeMP3(ffmpeg, path string, minutes int) error {
	expr := "0.3*(sin(2*PI*770*t)+sin(2*PI*1336*t))*lt(mod(t,7.3),0.2)+0.02*(random(0)-0.5)"
	tmp := path + ".tmp.mp3"
	cmd := exec.Command(ffmpeg, "-v", "error", "-nostdin", "-f", "lavfi", "-i",
		fmt.Sprintf("aevalsrc='%s':s=44100:d=%d", expr, minutes*60),
		"-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", "-y", tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("encoding the MP3: %v: %s", err, out)
	}
	return os.Rename(tmp, path)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
