package main

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
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
	if len(got.Peaks) != peaksPerFile {
		t.Fatalf("%d peaks", len(got.Peaks))
	}
	quiet, loud := got.Peaks[peaksPerFile/4], got.Peaks[3*peaksPerFile/4]
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

func TestPeaksOfAShortFile(t *testing.T) {
	if got := peaks([]float32{0.5, -0.9}, 10); !reflect.DeepEqual(got, []float32{0.5, 0.9}) {
		t.Errorf("peaks %v", got)
	}
	if got := peaks(nil, 10); len(got) != 0 {
		t.Errorf("peaks of nothing %v", got)
	}
}

// memStore is an editStore in memory.
type memStore map[string]string

func (m memStore) Setting(_ context.Context, k string) (string, bool, error) {
	v, ok := m[k]
	return v, ok, nil
}
func (m memStore) SetSetting(_ context.Context, k, v string) error { m[k] = v; return nil }

func TestEditSegment(t *testing.T) {
	q := &fakeQueue{result: &transcribe.Result{HistoryID: 7, Transcript: transcript.Transcript{
		Text:     "one two three",
		Segments: []transcript.Segment{{Start: 0, End: 1, Text: "one two"}, {Start: 1, End: 2, Text: "three"}},
	}}}
	a := newTestApp(t, &fakeEngine{}, q, &recorder{})
	if err := a.EditSegment(7, 1, "x"); err == nil {
		t.Error("an edit without a history was accepted")
	}
	a.editStore = memStore{}
	if err := a.EditSegment(7, 1, "  three   four "); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		idx  int
		text string
	}{{-1, "x"}, {0, "  "}} {
		if err := a.EditSegment(7, bad.idx, bad.text); err == nil {
			t.Errorf("EditSegment(%d, %q) accepted", bad.idx, bad.text)
		}
	}
	res, err := a.JobResult(1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Transcript.Segments[1].Text != "three four" || res.Transcript.Text != "one two three four" {
		t.Errorf("after the edit: %+v", res.Transcript)
	}
	if q.result.Transcript.Segments[1].Text != "three" {
		t.Error("the queue's own result was changed")
	}
}
