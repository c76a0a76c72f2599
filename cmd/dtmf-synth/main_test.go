package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/voices"
)

const sr = 16000

// synth runs dtmf-synth with args (16 kHz mono) and returns the samples
// and the truth.
func synth(t *testing.T, args ...string) ([]float32, []truthPress) {
	t.Helper()
	dir := t.TempDir()
	wav, truth := filepath.Join(dir, "x.wav"), filepath.Join(dir, "x.json")
	var stderr bytes.Buffer
	args = append([]string{"--out", wav, "--truth", truth, "--rate", "16000", "--channels", "1"}, args...)
	if code := run(args, &stderr); code != 0 {
		t.Fatalf("dtmf-synth %v: exit %d: %s", args, code, stderr.String())
	}
	data, err := os.ReadFile(truth)
	if err != nil {
		t.Fatal(err)
	}
	var presses []truthPress
	if err := json.Unmarshal(data, &presses); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(raw, []byte("data"))
	if at < 0 {
		t.Fatal("no data chunk")
	}
	pcm := raw[at+8:]
	x := make([]float32, len(pcm)/2)
	for i := range x {
		x[i] = float32(int16(binary.LittleEndian.Uint16(pcm[2*i:]))) / 32768
	}
	return x, presses
}

func embed(x []float32, p truthPress) []float32 {
	return voices.Embed(x[int(math.Round(p.Start*sr)):int(math.Round(p.End*sr))], sr)
}

// checkSpeakers: the voices model hears the truth's speakers, and the dtmf
// model the truth's keys.
func checkSpeakers(t *testing.T, x []float32, truth []truthPress) {
	t.Helper()
	heard := dtmf.Detect(x, sr)
	if len(heard) != len(truth) {
		t.Fatalf("dtmf heard %d presses, the truth has %d", len(heard), len(truth))
	}
	for i, p := range truth {
		if string(heard[i].Key) != p.Key || math.Abs(heard[i].Start-p.Start) > 0.015 {
			t.Errorf("press %d: heard %c at %.3f, truth %s at %.3f", i, heard[i].Key, heard[i].Start, p.Key, p.Start)
		}
		if p.Speaker == 0 {
			t.Fatalf("press %d has no speaker in the truth", i)
		}
		for j := range i {
			s := voices.Cosine(embed(x, p), embed(x, truth[j]))
			if same := p.Speaker == truth[j].Speaker; same && s < 0.95 || !same && s > 0.25 {
				t.Errorf("presses %d and %d (speakers %d, %d): similarity %.3f", i, j, p.Speaker, truth[j].Speaker, s)
			}
		}
	}
}

func TestWithoutVoicesTheTruthIsAsBefore(t *testing.T) {
	_, truth := synth(t, "--duration", "45")
	if len(truth) != 16 || truth[0].Key != "1" || truth[0].Speaker != 0 || truth[0].F0 != 0 {
		t.Fatalf("truth %+v", truth)
	}
	dir := t.TempDir()
	if code := run([]string{"--out", filepath.Join(dir, "a.wav"), "--truth", filepath.Join(dir, "a.json")}, os.Stderr); code != 0 {
		t.Fatal(code)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "a.json"))
	if strings.Contains(string(data), "speaker") || strings.Contains(string(data), "f0") {
		t.Errorf("a recording without voices has speakers in its truth:\n%s", data)
	}
}

func TestVoicesInTurns(t *testing.T) {
	x, truth := synth(t, "--voices", "110,150,205", "--turn-keys", "2", "--presses",
		"1@0.2:0.3,2@0.7:0.25,3@1.2:0.3,4@1.7:0.3,5@2.2:0.3,6@2.7:0.3,7@3.2:0.3", "--duration", "4")
	want := []int{1, 1, 2, 2, 3, 3, 1}
	for i, p := range truth {
		if p.Speaker != want[i] || p.F0 != []float64{110, 150, 205}[want[i]-1] {
			t.Errorf("press %d: speaker %d f0 %g, want speaker %d", i, p.Speaker, p.F0, want[i])
		}
	}
	checkSpeakers(t, x, truth)
}

func TestVoicesNamedInTheScript(t *testing.T) {
	x, truth := synth(t, "--voices", "100,180", "--presses", "1@0.2:0.3/2,2@0.7:0.3/1,3@1.2:0.3/2", "--duration", "2")
	if truth[0].Speaker != 2 || truth[1].Speaker != 1 || truth[2].Speaker != 2 || truth[1].F0 != 100 {
		t.Fatalf("truth %+v", truth)
	}
	checkSpeakers(t, x, truth)
}

func TestRandomPressesAndTurns(t *testing.T) {
	x, truth := synth(t, "--voices", "4", "--random-presses", "--random-turns", "1-3", "--seed", "9", "--duration", "20")
	if len(truth) < 20 {
		t.Fatalf("%d presses in 20 s", len(truth))
	}
	speakers := map[int]bool{}
	for _, p := range truth {
		speakers[p.Speaker] = true
	}
	if len(speakers) != 4 {
		t.Errorf("speakers %v, want 4", speakers)
	}
	checkSpeakers(t, x, truth)
	_, again := synth(t, "--voices", "4", "--random-presses", "--random-turns", "1-3", "--seed", "9", "--duration", "20")
	if len(again) != len(truth) || again[5] != truth[5] {
		t.Error("the same seed wrote another recording")
	}
}

func TestBadVoiceOptions(t *testing.T) {
	for _, args := range [][]string{
		{"--voices", "100,105"},
		{"--voices", "60"},
		{"--voices", "0"},
		{"--voices", "330"},
		{"--voices", "1,x"},
		{"--voices", "110,150", "--presses", "1@0:0.2/3"},
		{"--voices", "110,150", "--presses", "1@0:0.2/1,2@1:0.2"},
		{"--presses", "1@0:0.2/1"},
		{"--voices", "2", "--random-turns", "3-1"},
		{"--voices", "2", "--turn-keys", "0"},
		{"--presses", "1@0:0.2/x"},
	} {
		var stderr bytes.Buffer
		dir := t.TempDir()
		if code := run(append([]string{"--out", filepath.Join(dir, "x.wav")}, args...), &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 with a reason", args, code, stderr.String())
		}
	}
}
