package audio

import (
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/jfreymuth/oggvorbis"
)

// The batched, parallel Vorbis decoder delivers exactly what decoding the
// stream in one go with oggvorbis does (mixed to mono the same way), on
// the committed fixture and on a longer one full of transients (short
// blocks), for the average and for one channel.
func TestVorbisParallelMatchesSequential(t *testing.T) {
	files := []string{filepath.Join("testdata", "tone-stereo-44k.ogg")}
	if needFFmpegQuiet() {
		long := filepath.Join(t.TempDir(), "long.ogg")
		// Clicks over noise and a tone: the encoder switches block sizes.
		ffmpegRun(t, "-f", "lavfi", "-i", "anoisesrc=c=pink:r=48000:a=0.2:d=40", "-f", "lavfi", "-i", "sine=f=300:r=48000:d=40:beep_factor=8",
			"-filter_complex", "[0][1]amerge=inputs=2,aformat=channel_layouts=stereo", "-c:a", "libvorbis", "-q:a", "3", long)
		files = append(files, long)
	}
	for _, path := range files {
		for _, sel := range []int{-1, 1} {
			want := sequentialVorbis(t, path, sel)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			d, err := newVorbisDecoder(f, fileKind{name: kindVorbis}, sel)
			if err != nil {
				t.Fatal(err)
			}
			var got []float32
			buf := make([]float32, 3000)
			for {
				n, err := d.src.readMono(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			d.Close()
			f.Close()
			if len(got) != len(want) {
				t.Fatalf("%s channel %d: %d frames, sequential %d", path, sel, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s channel %d: frame %d is %v, sequential %v", path, sel, i, got[i], want[i])
				}
			}
			if info := d.Info(); info.Frames != int64(len(want)) {
				t.Errorf("%s: Info.Frames %d, decoded %d", path, info.Frames, len(want))
			}
		}
	}
}

func needFFmpegQuiet() bool {
	_, err := findFFmpeg(Options{Decoder: DecoderFFmpeg})
	return err == nil
}

// sequentialVorbis decodes path with oggvorbis's Reader, packet after
// packet, mixed to mono.
func sequentialVorbis(t *testing.T, path string, sel int) []float32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := oggvorbis.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	ch := r.Channels()
	var out []float32
	inter := make([]float32, 4096*ch)
	for {
		n, err := r.Read(inter)
		mono := make([]float32, n/ch)
		mixInterleaved(inter[:n/ch*ch], mono, ch, sel)
		out = append(out, mono...)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A damaged page in the middle of an Ogg Vorbis file is skipped: the rest
// decodes, silence takes the lost page's place so that what follows keeps
// its time, and a warning says so.
func TestVorbisDamagedPage(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "clean.ogg")
	ffmpegRun(t, "-f", "lavfi", "-i", "sine=f=440:r=44100:d=10", "-ac", "2", "-c:a", "libvorbis", path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	clean, _ := decodePath(t, path, Options{Decoder: DecoderBuiltin})
	b[len(b)/2] ^= 0x55 // a checksum fails: the page is dropped
	bad := writeFile(t, filepath.Join(dir, "bad.ogg"), b)
	y, d := decodePath(t, bad, Options{Decoder: DecoderBuiltin})
	if len(y) != len(clean) || !errors.Is(d.Warning(), ErrCorrupt) {
		t.Fatalf("%d samples decoded, %d without the damage; Warning %v", len(y), len(clean), d.Warning())
	}
	var silent int
	for i := range y {
		if y[i] == 0 {
			silent++
		}
	}
	tail := 2 * SampleRate
	for i := len(y) - tail; i < len(y); i++ {
		if math.Abs(float64(y[i]-clean[i])) > 1e-6 {
			t.Fatalf("sample %d after the damage: %v, %v without it", i, y[i], clean[i])
		}
	}
	if silent < SampleRate/10 {
		t.Errorf("only %d samples of silence in place of a lost page", silent)
	}
}
