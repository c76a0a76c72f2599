// Command decodebench decodes, resamples and chunks files the way the
// transcription engine does (audio.Open, then 30 s chunks) and prints the
// wall time of each, for bench/audio/bench.sh.
//
//	decodebench [-decoder auto|builtin|ffmpeg] [-runs N] FILE...
//
// It prints one line per file: the best wall time in seconds over the
// runs, the samples produced and the chunk count.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
)

func main() {
	mode := flag.String("decoder", "auto", "auto, builtin or ffmpeg")
	runs := flag.Int("runs", 1, "runs per file; the best is printed")
	profile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "decodebench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	m, err := audio.ParseDecoderMode(*mode)
	if err != nil {
		fmt.Fprintln(os.Stderr, "decodebench:", err)
		os.Exit(2)
	}
	for _, path := range flag.Args() {
		best := time.Duration(-1)
		var samples int64
		var chunks int
		for range max(1, *runs) {
			start := time.Now()
			samples, chunks, err = decode(path, m)
			if err != nil {
				fmt.Fprintf(os.Stderr, "decodebench: %s: %v\n", path, err)
				pprof.StopCPUProfile()
				os.Exit(1)
			}
			if d := time.Since(start); best < 0 || d < best {
				best = d
			}
		}
		fmt.Printf("%s %.3f %d %d\n", path, best.Seconds(), samples, chunks)
	}
}

func decode(path string, mode audio.DecoderMode) (int64, int, error) {
	d, err := audio.Open(path, audio.Options{Decoder: mode})
	if err != nil {
		return 0, 0, err
	}
	defer d.Close()
	c := audio.NewChunker(d, audio.ChunkOptions{MaxSeconds: 30})
	var samples int64
	var chunks int
	for {
		ch, err := c.Next()
		if errors.Is(err, io.EOF) {
			return samples, chunks, d.Err()
		}
		if err != nil {
			return samples, chunks, err
		}
		samples += int64(len(ch.Samples))
		chunks++
	}
}
