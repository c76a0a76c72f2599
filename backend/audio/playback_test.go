package audio

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDecodePlayback(t *testing.T) {
	t.Setenv(FFmpegEnv, "off")
	path := filepath.Join(t.TempDir(), "tone.wav")
	in := make([]float32, 16000) // one second: quiet half, loud half
	for i := range in {
		amp := 1000.0
		if i >= 8000 {
			amp = 16000
		}
		in[i] = float32(math.Round(amp*math.Sin(float64(i)*2*math.Pi*440/16000)) / 32767)
	}
	if err := os.WriteFile(path, wavBytes(t, in, 16000, 1, PCM16), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := DecodePlayback(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.SampleRate != 16000 || got.Duration != 1 {
		t.Errorf("rate %d, duration %g", got.SampleRate, got.Duration)
	}
	if len(got.PCM) != 2*len(in) {
		t.Fatalf("pcm: %d bytes, want %d", len(got.PCM), 2*len(in))
	}
	for i := 0; i < len(in); i += 997 {
		want := math.Round(float64(in[i]) * 32767)
		if s := int16(binary.LittleEndian.Uint16(got.PCM[2*i:])); math.Abs(float64(s)-want) > 1 {
			t.Fatalf("sample %d is %d, want %g", i, s, want)
		}
	}
	if len(got.Peaks) != PlaybackPeaks {
		t.Fatalf("%d peaks", len(got.Peaks))
	}
	quiet, loud := got.Peaks[PlaybackPeaks/4], got.Peaks[3*PlaybackPeaks/4]
	if quiet > 0.04 || loud < 0.45 || loud > 0.5 {
		t.Errorf("peaks: quiet %g, loud %g", quiet, loud)
	}

	if _, err := DecodePlayback(filepath.Join(t.TempDir(), "gone.wav"), Options{}); err == nil || !strings.Contains(err.Error(), "for playback") {
		t.Errorf("error %v for a file that is not there", err)
	}
}

func TestPeaks(t *testing.T) {
	for _, tt := range []struct {
		name    string
		samples []float32
		n       int
		want    []float32
	}{
		{"a short file has one peak a sample", []float32{0.5, -0.9}, 10, []float32{0.5, 0.9}},
		{"nothing", nil, 10, []float32{}},
		{"equal stretches", []float32{0.1, -0.2, 0.3, 0.4, -0.5, 0.6}, 3, []float32{0.2, 0.4, 0.6}},
		{"clipped at 1", []float32{1.5, -2}, 1, []float32{1}},
	} {
		if got := peaks(tt.samples, tt.n); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: peaks %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPCM16(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   float32
		want int16
	}{
		{"silence", 0, 0},
		{"full scale", 1, 32767},
		{"negative full scale", -1, -32767},
		{"rounded", 0.5, 16384},
		{"clipped high", 1.5, 32767},
		{"clipped low", -1.5, -32768},
	} {
		if got := int16(binary.LittleEndian.Uint16(pcm16([]float32{tt.in}))); got != tt.want {
			t.Errorf("%s: pcm16(%g) = %d, want %d", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestSameSource(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "memo.wav")
	if err := os.WriteFile(path, []byte("the recording"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("the recording"))
	hash := hex.EncodeToString(sum[:])
	for _, tt := range []struct {
		name, path, sum string
		want            string // "" = plays
	}{
		{"unchanged", path, hash, ""},
		{"unchanged, hash in capitals", path, strings.ToUpper(hash), ""},
		{"no hash to compare", path, "", ""},
		{"changed", path, strings.Repeat("0", 64), "has changed since it was transcribed"},
		{"gone", filepath.Join(dir, "gone.wav"), hash, "is not there any more"},
		{"a folder, not a file", dir, hash, "cannot be read"},
	} {
		err := SameSource(tt.path, tt.sum)
		if (tt.want == "" && err != nil) || (tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want))) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), tt.path) {
			t.Errorf("%s: %v does not name the file", tt.name, err)
		}
	}
}
