package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// writeWAV writes 16 kHz mono 16-bit PCM.
func writeWAV(t *testing.T, path string, samples []int16) {
	t.Helper()
	data := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(s))
	}
	h := make([]byte, 44)
	copy(h, "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+len(data)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], 1)
	binary.LittleEndian.PutUint32(h[24:], 16000)
	binary.LittleEndian.PutUint32(h[28:], 32000)
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(len(data)))
	if err := os.WriteFile(path, append(h, data...), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAudioSamples(t *testing.T) {
	t.Setenv("NEMO_TRANSCRIBE_FFMPEG", "off")
	dir := t.TempDir()
	path := filepath.Join(dir, "tone.wav")
	in := make([]int16, 16000) // one second: quiet half, loud half
	for i := range in {
		amp := 1000.0
		if i >= 8000 {
			amp = 16000
		}
		in[i] = int16(amp * math.Sin(float64(i)*2*math.Pi*440/16000))
	}
	writeWAV(t, path, in)
	q := &fakeQueue{}
	a := newTestApp(t, &fakeEngine{}, q, &recorder{})
	a.AddFiles([]string{path})

	got, err := a.AudioSamples(1)
	if err != nil {
		t.Fatal(err)
	}
	if got.SampleRate != 16000 || got.Duration != 1 {
		t.Errorf("rate %d, duration %g", got.SampleRate, got.Duration)
	}
	pcm, err := base64.StdEncoding.DecodeString(got.PCM)
	if err != nil || len(pcm) != 2*len(in) {
		t.Fatalf("pcm: %d bytes, %v", len(pcm), err)
	}
	for i := 0; i < len(in); i += 997 {
		if s := int16(binary.LittleEndian.Uint16(pcm[2*i:])); math.Abs(float64(s-in[i])) > 1 {
			t.Fatalf("sample %d is %d, want %d", i, s, in[i])
		}
	}
	if len(got.Peaks) != audio.PlaybackPeaks {
		t.Fatalf("%d peaks", len(got.Peaks))
	}
	quiet, loud := got.Peaks[audio.PlaybackPeaks/4], got.Peaks[3*audio.PlaybackPeaks/4]
	if quiet > 0.04 || loud < 0.45 || loud > 0.5 {
		t.Errorf("peaks: quiet %g, loud %g", quiet, loud)
	}

	if _, err := a.AudioSamples(9); err == nil {
		t.Error("no error for an unknown job")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AudioSamples(1); err == nil || !strings.Contains(err.Error(), "for playback") {
		t.Errorf("error %v for a file that is gone", err)
	}
}

func TestHistoryAudioSamples(t *testing.T) {
	t.Setenv("NEMO_TRANSCRIBE_FFMPEG", "off")
	ctx := context.Background()
	db := openStore(t)
	path := filepath.Join(t.TempDir(), "memo.wav")
	writeWAV(t, path, make([]int16, 8000))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	tr := transcript.Transcript{Source: path, Text: "hi", Segments: []transcript.Segment{{Start: 0, End: 0.5, Text: "hi"}}}
	id, err := db.PutTranscript(ctx, store.Entry{Plan: "p", Source: path, SHA256: hex.EncodeToString(sum[:])}, tr)
	if err != nil {
		t.Fatal(err)
	}
	unhashed, _ := db.PutTranscript(ctx, store.Entry{Plan: "q", Source: path}, tr)
	a := newTestApp(t, &fakeEngine{}, &fakeQueue{}, &recorder{})
	if _, err := a.HistoryAudioSamples(id); err == nil {
		t.Error("no error without a database")
	}
	a.history = db

	got, err := a.HistoryAudioSamples(id)
	if err != nil || got.SampleRate != 16000 || got.Duration != 0.5 || len(got.Peaks) != audio.PlaybackPeaks {
		t.Fatalf("%d Hz, %g s, %d peaks, %v", got.SampleRate, got.Duration, len(got.Peaks), err)
	}
	if _, err := a.HistoryAudioSamples(id + 100); err == nil || !strings.Contains(err.Error(), "opening the transcript") {
		t.Errorf("an unknown entry: %v", err)
	}

	writeWAV(t, path, make([]int16, 16000))
	for _, tt := range []struct {
		name string
		id   int64
		want string // "" = plays
	}{
		{"changed", id, "has changed since it was transcribed"},
		{"no hash to compare", unhashed, ""},
	} {
		_, err := a.HistoryAudioSamples(tt.id)
		if (tt.want == "" && err != nil) || (tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want))) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), "the transcript itself is still in the history") {
			t.Errorf("%s: %v does not say the transcript is safe", tt.name, err)
		}
	}
	os.Remove(path)
	for _, x := range []int64{id, unhashed} {
		_, err := a.HistoryAudioSamples(x)
		if err == nil || !strings.Contains(err.Error(), "is not there any more") || !strings.Contains(err.Error(), "the transcript itself is still in the history") {
			t.Errorf("a file that is gone: %v", err)
		}
	}
}
