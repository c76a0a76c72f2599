package audio

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mewkiz/flac/frame"
)

// flacFrames splits a FLAC file into its frames the way the decoder does.
func flacFrames(t *testing.T, path string) (flacInfo, [][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(bytes.NewReader(b))
	fi, err := parseFLACHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	s := &flacSource{info: fi, order: make(chan chan flacBatch, 1000), quit: make(chan struct{})}
	jobs := make(chan flacJob, 1000)
	go func() { defer close(jobs); defer close(s.order); s.split(br, jobs) }()
	var frames [][]byte
	for j := range jobs {
		for i, span := range j.frames {
			if !j.crcOK[i] {
				t.Fatalf("frame %d: checksum", len(frames))
			}
			frames = append(frames, j.data[span[0]:span[1]])
		}
	}
	return fi, frames
}

// Our frame decoder gives exactly mewkiz/flac's samples, frame by frame,
// over every kind of subframe ffmpeg's encoder makes (compression levels
// 0 to 12: verbatim, constant, fixed and LPC up to order 32, Rice
// parameters with escapes), at 8, 16 and 24 bits, mono to 6 channels.
func TestFLACFrameDecoder(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	l, r := testSignal(44100, 1.5)
	src := writeFile(t, filepath.Join(dir, "src.wav"), wavBytes(t, interleave(l, r), 44100, 2, Float32))
	var variants [][]string
	for _, level := range []string{"0", "5", "8", "12"} {
		variants = append(variants, []string{"-compression_level", level, "-sample_fmt", "s16"})
	}
	variants = append(variants,
		[]string{"-sample_fmt", "s32", "-bits_per_raw_sample", "24", "-compression_level", "8"},
		[]string{"-ac", "1", "-sample_fmt", "s16"},
		[]string{"-af", "aformat=channel_layouts=5.1", "-sample_fmt", "s16"},
		[]string{"-af", "volume=0", "-sample_fmt", "s16"},
		[]string{"-ar", "8000", "-sample_fmt", "s16", "-compression_level", "12", "-lpc_type", "cholesky"},
	)
	for i, v := range variants {
		out := filepath.Join(dir, fmt.Sprintf("v%d.flac", i))
		ffmpegRun(t, append(append([]string{"-i", src}, v...), "-c:a", "flac", out)...)
		fi, frames := flacFrames(t, out)
		var ours flacFrame
		for k, data := range frames {
			n, _, err := ours.decode(data, fi.bits, fi.channels)
			if err != nil {
				t.Fatalf("%v: frame %d: %v", v, k, err)
			}
			ref, err := frame.Parse(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%v: frame %d: mewkiz: %v", v, k, err)
			}
			if n != int(ref.BlockSize) {
				t.Fatalf("%v: frame %d: %d samples, mewkiz %d", v, k, n, ref.BlockSize)
			}
			for c, sf := range ref.Subframes {
				for i, want := range sf.Samples[:n] {
					if ours.ch[c][i] != want {
						t.Fatalf("%v: frame %d channel %d sample %d: %d, mewkiz %d", v, k, c, i, ours.ch[c][i], want)
					}
				}
			}
		}
		if len(frames) == 0 {
			t.Fatalf("%v: no frames", v)
		}
	}
}
