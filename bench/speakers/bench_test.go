package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
)

// BenchmarkTranscribe is five minutes of six voices through the engine on
// a batching test server, without and with diarization: the ratio of the
// two is the cost of diarization (run.sh measures the hour).
func BenchmarkTranscribe(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "five.wav")
	if _, err := recording(src, 6, 300, 1, 6, 6); err != nil {
		b.Fatal(err)
	}
	addr := tritontest.Start(b, tritontest.Options{Models: []tritontest.Model{tritontest.DTMF(), tritontest.Voices()},
		Batching: &tritontest.Batching{MaxBatch: 8, Latency: 50 * time.Millisecond, Window: 2 * time.Millisecond}})
	for _, spk := range []*transcribe.SpeakerOptions{nil, {}} {
		name := "plain"
		if spk != nil {
			name = "speakers"
		}
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				e, err := transcribe.Open(transcribe.Config{CacheDir: filepath.Join(dir, fmt.Sprint(name, i))})
				if err != nil {
					b.Fatal(err)
				}
				res, err := e.Transcribe(context.Background(), transcribe.Request{Path: src, Server: addr, Model: tritontest.DTMFModelName,
					Timestamps: true, Speakers: spk}, nil)
				e.Close()
				if err != nil {
					b.Fatal(err)
				}
				if spk != nil && len(res.Transcript.Speakers) != 6 {
					b.Fatalf("%d speakers", len(res.Transcript.Speakers))
				}
			}
		})
	}
}

// BenchmarkAccuracy reports the share of words to the right speaker on
// two minutes of four voices in turns of one to six presses.
func BenchmarkAccuracy(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "four.wav")
	presses, err := recording(src, 4, 120, 1, 6, 4)
	if err != nil {
		b.Fatal(err)
	}
	cutAt, err := cuts(src, transcribe.DefaultChunkSeconds)
	if err != nil {
		b.Fatal(err)
	}
	addr := tritontest.Start(b, tritontest.Options{Models: []tritontest.Model{tritontest.DTMF(), tritontest.Voices()}})
	for _, mode := range []transcribe.SpanMode{transcribe.SpansWords, transcribe.SpansWindows} {
		b.Run(string(mode), func(b *testing.B) {
			var all, near float64
			for b.Loop() {
				e, err := transcribe.Open(transcribe.Config{CacheDir: filepath.Join(dir, "cache"), SpeakerSpans: mode})
				if err != nil {
					b.Fatal(err)
				}
				res, err := e.Transcribe(context.Background(), transcribe.Request{Path: src, Server: addr, Model: tritontest.DTMFModelName,
					Timestamps: true, Speakers: &transcribe.SpeakerOptions{}}, nil)
				e.Close()
				if err != nil {
					b.Fatal(err)
				}
				all, near, _, _ = score(res.Transcript, presses, cutAt, 2)
			}
			b.ReportMetric(100*all, "%words")
			b.ReportMetric(100*near, "%near-cuts")
		})
	}
}
