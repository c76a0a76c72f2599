package audio

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestFFmpegNotStartedWhenExact: a file already at 16 kHz, mono, 16-bit
// (WAV or FLAC) is decoded without ffmpeg in the default mode, and its
// samples are ffmpeg's bit for bit; anything that needs resampling,
// mixing or another sample format still goes through ffmpeg, and so does
// every file when ffmpeg is asked for.
func TestFFmpegNotStartedWhenExact(t *testing.T) {
	ffmpeg := needFFmpeg(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(16, 1))
	x := make([]float32, 3*SampleRate+123)
	for i := range x {
		x[i] = float32(0.3*math.Sin(float64(i)*0.05) + 0.05*rng.NormFloat64())
	}
	wav := writeFile(t, filepath.Join(dir, "exact.wav"), wavBytes(t, x, SampleRate, 1, PCM16))
	flac := filepath.Join(dir, "exact.flac")
	if out, err := exec.Command(ffmpeg, "-v", "error", "-i", wav, "-c:a", "flac", "-y", flac).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	wav44 := writeFile(t, filepath.Join(dir, "44k.wav"), wavBytes(t, x, 44100, 1, PCM16))
	stereo := writeFile(t, filepath.Join(dir, "stereo.wav"), wavBytes(t, append(slices.Clone(x), x...), SampleRate, 2, PCM16))
	float := writeFile(t, filepath.Join(dir, "float.wav"), wavBytes(t, x, SampleRate, 1, Float32))
	// A recorder stopped before it filled in the sizes (parec killed, as
	// libsndfile leaves it): RIFF size 36 and data size 0 with the audio
	// after. Both decoders read it to the end, as ffmpeg does.
	raw := wavBytes(t, x, SampleRate, 1, PCM16)
	at := bytes.Index(raw, []byte("data"))
	binary.LittleEndian.PutUint32(raw[4:], 36)
	binary.LittleEndian.PutUint32(raw[at+4:], 0)
	unfinished := writeFile(t, filepath.Join(dir, "unfinished.wav"), raw)

	for _, tt := range []struct {
		path, want string
	}{
		{wav, "builtin"}, {flac, "builtin"},
		{wav44, "ffmpeg"}, {stereo, "ffmpeg"}, {float, "ffmpeg"}, {unfinished, "builtin"},
	} {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			auto, err := Open(tt.path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer auto.Close()
			ref, err := Open(tt.path, Options{Decoder: DecoderFFmpeg})
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			if got := auto.Info().Decoder; got != tt.want {
				t.Errorf("decoded by %s, want %s", got, tt.want)
			}
			if got := ref.Info().Decoder; got != "ffmpeg" {
				t.Errorf("DecoderFFmpeg decoded by %s", got)
			}
			a, r := readAll(t, auto), readAll(t, ref)
			if tt.path == unfinished && len(a) != len(x) {
				t.Errorf("%d samples, the file holds %d", len(a), len(x))
			}
			if tt.want == "builtin" && !slices.Equal(a, r) {
				t.Fatalf("built-in: %d samples, ffmpeg: %d; not the same samples", len(a), len(r))
			}
			if ai, ri := auto.Info(), ref.Info(); ai.Samples != ri.Samples || ai.Frames != ri.Frames || ai.Truncated != ri.Truncated {
				t.Errorf("Info: %+v, ffmpeg's %+v", ai, ri)
			}
		})
	}
}
