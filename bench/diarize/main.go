// Command diarizebench times diarize.Cluster on synthetic embeddings (one
// 0.75 s window each, 192 dimensions) and the anchors run.sh divides by.
//
//	diarizebench -mode cluster -minutes 60   cluster one recording
//	diarizebench -mode anchor -minutes 10    the dense n×n cosine affinity alone
//	diarizebench -mode input -minutes 60     only make the input (the memory baseline)
//
// It prints one line of key=value pairs: the median time of -rounds runs in
// seconds, the number of embeddings, and for cluster the speakers found,
// the accuracy after the best label mapping, and the peak of live heap
// above the heap before the call (sampled every millisecond). Peak resident
// memory is for /usr/bin/time -v to measure (run.sh).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync/atomic"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize"
	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize/diarizetest"
)

func main() {
	mode := flag.String("mode", "cluster", "cluster, anchor or input")
	minutes := flag.Float64("minutes", 60, "minutes of speech")
	speakers := flag.Int("speakers", 6, "voices")
	rounds := flag.Int("rounds", 3, "timed runs; the median is printed")
	fixed := flag.Bool("fixed", false, "give Cluster the true speaker count instead of auto")
	flag.Parse()

	rec := diarizetest.Generate(diarizetest.Config{Speakers: *speakers, Seconds: *minutes * 60, Seed: 1})
	n := len(rec.Embeddings)
	runtime.GC()
	switch *mode {
	case "input":
		fmt.Printf("mode=input minutes=%g n=%d\n", *minutes, n)
	case "anchor":
		var sink float64
		t := median(*rounds, func() { sink += affinity(rec.Embeddings) })
		fmt.Printf("mode=anchor minutes=%g n=%d seconds=%.4f check=%.1f\n", *minutes, n, t, sink)
	case "cluster":
		opt := diarize.Options{}
		if *fixed {
			opt.Speakers = *speakers
		}
		var res diarize.Result
		var peak uint64
		t := median(*rounds, func() {
			var err error
			var p uint64
			p, res, err = withPeak(func() (diarize.Result, error) { return diarize.Cluster(rec.Embeddings, opt) })
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			peak = max(peak, p)
		})
		pred := make([]int, n)
		for i, s := range res.Spans {
			pred[i] = s.Speaker
		}
		acc, _ := diarizetest.Accuracy(rec.Truth, pred)
		fmt.Printf("mode=cluster minutes=%g n=%d seconds=%.4f speakers=%d accuracy=%.4f heap_peak_mb=%.1f gomaxprocs=%d\n",
			*minutes, n, t, len(res.Speakers), acc, float64(peak)/(1<<20), runtime.GOMAXPROCS(0))
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", *mode)
		os.Exit(2)
	}
}

func median(rounds int, f func()) float64 {
	var ts []float64
	for range max(rounds, 1) {
		t0 := time.Now()
		f()
		ts = append(ts, time.Since(t0).Seconds())
	}
	slices.Sort(ts)
	return ts[len(ts)/2]
}

// affinity computes the dense n×n cosine affinity of the embeddings (in
// float32, as they come, one triangle mirrored), the first step of
// clustering them all at once, and returns a checksum so it is not
// optimised away.
func affinity(embs []diarize.Embedding) float64 {
	n := len(embs)
	a := make([]float32, n*n)
	for i := range n {
		vi := embs[i].Vector
		for j := i; j < n; j++ {
			vj := embs[j].Vector
			var s float32
			for k := range vi {
				s += vi[k] * vj[k]
			}
			a[i*n+j], a[j*n+i] = s, s
		}
	}
	var sum float64
	for i := 0; i < n*n; i += n + 1 {
		sum += float64(a[i])
	}
	return sum
}

// withPeak runs f while sampling the live heap every millisecond and
// returns the peak above the heap before f.
func withPeak(f func() (diarize.Result, error)) (uint64, diarize.Result, error) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	res, err := f()
	close(stop)
	<-done
	p := peak.Load()
	if p < base {
		p = base
	}
	return p - base, res, err
}
