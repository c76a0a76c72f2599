// Command livebench measures a live session fed in real time against a
// Triton test server with no added latency (run.sh starts the devserver
// in its own process, so the CPU counted here is the live path's alone):
//
//   - final latency, from the arrival of an utterance's last voiced audio
//     to the final's emission, median and p95, with the part the voice
//     detector waited for the pause reported on its own;
//   - how often partials come while a key is held;
//   - CPU of this process (feeder, detector, audio file, store, client)
//     as a share of one core.
//
// Anchors, measured in the same run: a bare ModelInfer of a typical
// utterance (the server's part of a final's latency), the configured
// pause and partial interval, and the feeder alone with no session (the
// CPU a real-time feed costs before any live work).
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/live"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

func main() {
	addr := flag.String("server", "127.0.0.1:8001", "devserver `host:port`")
	seconds := flag.Float64("seconds", 60, "audio fed in real time")
	anchorSeconds := flag.Float64("anchor-seconds", 10, "audio fed to nothing, for the CPU anchor")
	dir := flag.String("dir", "", "data folder (default: a temporary one)")
	flag.Parse()
	if err := run(*addr, *seconds, *anchorSeconds, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "livebench:", err)
		os.Exit(1)
	}
}

// script repeats every 6 s: three short keys 0.25 s apart, a pause, one
// key held for 2 s, a pause.
func script(seconds float64) []dtmf.Press {
	var out []dtmf.Press
	keys := "123456789ABCD*#0"
	k := 0
	for t := 0.5; t+6 <= seconds+0.5; t += 6 {
		for i := range 3 {
			at := t + 0.45*float64(i)
			out = append(out, dtmf.Press{Key: rune(keys[k%len(keys)]), Start: at, End: at + 0.2})
			k++
		}
		out = append(out, dtmf.Press{Key: rune(keys[k%len(keys)]), Start: t + 2.8, End: t + 4.8})
		k++
	}
	return out
}

func cpu() time.Duration {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// realtime calls feed with 20 ms frames of x as they fall due.
func realtime(x []float32, feed func([]float32)) {
	const frame = live.SampleRate / 50
	start := time.Now()
	for i := 0; i < len(x); i += frame {
		j := min(i+frame, len(x))
		time.Sleep(time.Until(start.Add(time.Duration(float64(j) / live.SampleRate * float64(time.Second)))))
		feed(x[i:j])
	}
}

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1+boolInt(q == 0))]
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func run(addr string, seconds, anchorSeconds float64, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "livebench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	srv, err := inference.Connect(addr)
	if err != nil {
		return err
	}
	defer srv.Close()
	ctx := context.Background()
	m, err := srv.OpenModel(ctx, "dtmf", inference.WaitOptions{})
	if err != nil {
		return err
	}
	x := dtmf.Synthesize(script(seconds), live.SampleRate, seconds, dtmf.SynthOptions{NoiseDB: -40, Seed: 1})

	// Anchor: a bare ModelInfer of a typical utterance (the three keys
	// with pre-roll and tail, 1.5 s).
	clip := x[int(0.3*live.SampleRate):int(1.8*live.SampleRate)]
	var bare []float64
	for range 30 {
		t0 := time.Now()
		if _, err := m.Recognize(ctx, 0, clip, inference.Options{Timestamps: true}); err != nil {
			return err
		}
		bare = append(bare, float64(time.Since(t0))/1e6)
	}

	// Anchor: the feeder alone.
	ax := x[:min(len(x), int(anchorSeconds*live.SampleRate))]
	c0, w0 := cpu(), time.Now()
	var sink float32
	realtime(ax, func(f []float32) { sink += f[0] })
	feederCPU := float64(cpu()-c0) / float64(time.Since(w0)) * 100

	db, err := store.Open(filepath.Join(dir, "data"))
	if err != nil {
		return err
	}
	defer db.Close()
	var (
		mu        sync.Mutex
		latency   []float64
		pause     []float64
		server    []float64
		partialAt = map[int][]time.Time{}
		heldUtts  = map[int]bool{}
	)
	cfg := live.Config{Recognizer: m, Options: inference.Options{Timestamps: true}, Store: db, Dir: filepath.Join(dir, "live"),
		Server: addr, Model: "dtmf",
		Emit: func(ev live.Event) {
			mu.Lock()
			defer mu.Unlock()
			switch ev.Type {
			case live.EventFinal:
				l := float64(time.Since(ev.HeardAt)) / 1e6
				latency = append(latency, l)
				pause = append(pause, ev.PauseMs)
				server = append(server, l-ev.PauseMs)
				if ev.End-ev.Start > 1.5 {
					heldUtts[ev.Utterance] = true
				}
			case live.EventPartial:
				partialAt[ev.Utterance] = append(partialAt[ev.Utterance], time.Now())
			}
		}}
	s, err := live.New(cfg)
	if err != nil {
		return err
	}
	c0, w0 = cpu(), time.Now()
	realtime(x, func(f []float32) {
		if err := s.Feed(f); err != nil {
			fmt.Fprintln(os.Stderr, "livebench: feed:", err)
		}
	})
	wall := time.Since(w0)
	used := cpu() - c0
	res, err := s.Close(ctx)
	if err != nil {
		return err
	}
	st := s.Stats()
	var intervals []float64
	for u, ts := range partialAt {
		if !heldUtts[u] {
			continue
		}
		for i := 1; i < len(ts); i++ {
			intervals = append(intervals, float64(ts[i].Sub(ts[i-1]))/1e6)
		}
	}
	words := 0
	for _, seg := range res.Transcript.Segments {
		words += len(seg.Words)
	}
	fmt.Printf("live session, %.0f s of DTMF fed in real time, devserver with no added latency, %d CPUs\n", seconds, numCPU())
	fmt.Printf("  keys heard           %d of %d pressed, %d finals, %d partials (%d sent, %d skipped)\n", words, len(script(seconds)), st.Finals, st.Partials, st.PartialsSent, st.PartialsSkipped)
	fmt.Printf("  final latency        median %.0f ms, p95 %.0f ms   (target: median <= 600, p95 <= 900)\n", quantile(latency, 0.5), quantile(latency, 0.95))
	fmt.Printf("    of it, pause wait  median %.0f ms, p95 %.0f ms   (anchor: the detector's pause, %d ms, to the 20 ms feed frame)\n", quantile(pause, 0.5), quantile(pause, 0.95), 450)
	fmt.Printf("    of it, the rest    median %.1f ms, p95 %.1f ms   (anchor: a bare ModelInfer of a 1.5 s utterance, median %.1f ms, p95 %.1f ms)\n",
		quantile(server, 0.5), quantile(server, 0.95), quantile(bare, 0.5), quantile(bare, 0.95))
	fmt.Printf("  partial interval     while a key is held: median %.0f ms, p95 %.0f ms, max %.0f ms over %d intervals   (target: <= 500; anchor: --partial-every 300 ms)\n",
		quantile(intervals, 0.5), quantile(intervals, 0.95), quantile(intervals, 1), len(intervals))
	fmt.Printf("  CPU, live path       %.2f %% of one core   (target: <= 10 %%; anchor: the real-time feeder alone, %.2f %%)\n", float64(used)/float64(wall)*100, feederCPU)
	_ = sink
	return nil
}
