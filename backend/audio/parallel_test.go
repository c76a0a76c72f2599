package audio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Long enough fixtures for parallel decoding: 40 s of the test signal in
// every codec, decoded in ranges of 4 s and more.
var (
	longOnce  sync.Once
	longDir   string
	longFiles map[string]string
	longErr   error
)

func longFixtures(t *testing.T) map[string]string {
	t.Helper()
	needFFmpeg(t)
	longOnce.Do(func() {
		longDir, longErr = os.MkdirTemp("", "audio-parallel-")
		if longErr != nil {
			return
		}
		l, r := testSignal(44100, 40)
		wav := filepath.Join(longDir, "src.wav")
		f, err := os.Create(wav)
		if err == nil {
			err = errors.Join(WriteWAV(f, interleave(l, r), 44100, 2, PCM16), f.Close())
		}
		if err != nil {
			longErr = err
			return
		}
		longFiles = map[string]string{}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, c := range codecs {
			out := filepath.Join(longDir, c.name+"."+c.ext)
			longFiles[c.name] = out
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := runFFmpeg(append(append([]string{"-i", wav}, c.args...), out)...); err != nil {
					mu.Lock()
					longErr = err
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	})
	if longErr != nil {
		t.Fatal(longErr)
	}
	return longFiles
}

// withRanges shortens the parallel path's ranges for a test.
func withRanges(t *testing.T, minSeconds float64, cap int) {
	t.Helper()
	old, oldCap, oldMin := rangeMinSeconds, maxRanges, parallelMinSeconds
	rangeMinSeconds, maxRanges, parallelMinSeconds = minSeconds, cap, 0
	t.Cleanup(func() { rangeMinSeconds, maxRanges, parallelMinSeconds = old, oldCap, oldMin })
}

func joinsOf(d *Decoder) int {
	if rs, ok := d.src.(*rangeSource); ok {
		return rs.joined
	}
	return -1
}

// TestFFmpegParallelJoinsExact decodes each format in 2 to 8 ranges at once and
// checks that the joined stream is bit for bit the single process's, as
// long, with the same Info, and that every join was made.
func TestFFmpegParallelJoinsExact(t *testing.T) {
	files := longFixtures(t)
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			path := files[c.name]
			single, sd := decodePath(t, path, Options{Decoder: DecoderFFmpeg, Ranges: 1})
			withRanges(t, 4, 0)
			if c.name == "aac" {
				// Not decoded in ranges (see parallelKind): one process.
				y, d := decodePath(t, path, Options{Decoder: DecoderFFmpeg, Ranges: 4})
				if joinsOf(d) != -1 || !sameBits(y, single) || len(y) != len(single) {
					t.Errorf("aac with 4 ranges: not the single process's %d samples (%d, joins %d)", len(single), len(y), joinsOf(d))
				}
				return
			}
			for _, n := range []int{2, 3, 8} {
				rangeMinSeconds = 40.0 / float64(n)
				y, d := decodePath(t, path, Options{Decoder: DecoderFFmpeg, Ranges: n})
				joins := joinsOf(d)
				if len(y) != len(single) || !sameBits(y, single) {
					first := -1
					for i := range min(len(y), len(single)) {
						if y[i] != single[i] {
							first = i
							break
						}
					}
					t.Errorf("%d ranges (%d joined): %d samples, one process %d; first difference at %d", n, joins, len(y), len(single), first)
				}
				if d.Info() != sd.Info() {
					t.Errorf("%d ranges: Info %+v, one process %+v", n, d.Info(), sd.Info())
				}
				t.Logf("%d ranges: %d joined exactly", n, joins)
				if joins != n-1 {
					t.Errorf("%d ranges: only %d joins", n, joins)
				}
			}
		})
	}
}

func runFFmpeg(args ...string) error {
	all := append([]string{"-nostdin", "-v", "error", "-y"}, args...)
	if b, err := exec.Command("ffmpeg", all...).CombinedOutput(); err != nil {
		return fmt.Errorf("ffmpeg %v: %v\n%s", all, err, b)
	}
	return nil
}

// TestFFmpegParallelDecoderKilled: a range's ffmpeg that dies in the middle
// fails the file with ErrFFmpeg and a message that says so; the stream
// gives no more samples after it.
func TestFFmpegParallelDecoderKilled(t *testing.T) {
	files := longFixtures(t)
	real, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wrapper := filepath.Join(dir, "ffmpeg")
	// The decoders that seek (ranges after the first) die after 100,000
	// samples.
	script := "#!/bin/sh\ncase \" $* \" in *\" -ss \"*) \"" + real + "\" \"$@\" | head -c 400000; kill -9 $$ ;; esac\nexec \"" + real + "\" \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	withRanges(t, 4, 0)
	for _, name := range []string{"wav-s16", "flac", "mp3", "opus"} {
		t.Run(name, func(t *testing.T) {
			d, err := Open(files[name], Options{FFmpegPath: wrapper, Ranges: 3})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			buf := make([]float32, 4096)
			var n int
			for {
				k, err := d.Read(buf)
				n += k
				if err == io.EOF {
					t.Fatalf("the stream ended normally after %d samples", n)
				}
				if err != nil {
					if !errors.Is(err, ErrFFmpeg) || !strings.Contains(err.Error(), "was stopped") {
						t.Errorf("error %v: want ErrFFmpeg saying the decoder was stopped", err)
					}
					if k, err2 := d.Read(buf); k != 0 || err2 == nil {
						t.Errorf("after the error: %d samples, %v", k, err2)
					}
					t.Logf("after %.2f s: %v", float64(n)/SampleRate, err)
					return
				}
			}
		})
	}
}

// TestFFmpegParallelTruncated: a file cut short decodes in ranges as far as it
// goes, with the single decode's length and warning.
func TestFFmpegParallelTruncated(t *testing.T) {
	files := longFixtures(t)
	withRanges(t, 4, 0)
	dir := t.TempDir()
	for _, name := range []string{"wav-s16", "flac", "mp3", "vorbis"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(files[name])
			if err != nil {
				t.Fatal(err)
			}
			cut := writeFile(t, filepath.Join(dir, "cut-"+filepath.Base(files[name])), data[:len(data)*6/10])
			single, sd := decodePath(t, cut, Options{Decoder: DecoderFFmpeg, Ranges: 1})
			y, d := decodePath(t, cut, Options{Decoder: DecoderFFmpeg, Ranges: 4})
			if len(y) != len(single) {
				t.Errorf("%d samples in ranges, %d in one process", len(y), len(single))
			}
			if d.Truncated() != sd.Truncated() || (d.Warning() == nil) != (sd.Warning() == nil) {
				t.Errorf("truncated %v (warning %v); one process: %v (%v)", d.Truncated(), d.Warning(), sd.Truncated(), sd.Warning())
			}
			if !d.Truncated() {
				t.Errorf("not reported truncated")
			}
			t.Logf("%.2f s, joins %d, warning: %v", float64(len(y))/SampleRate, joinsOf(d), d.Warning())
		})
	}
}

// TestFFmpegParallelRangesLongerThanBuffers shrinks the budget so that
// every range is longer than what it may buffer ahead: its ffmpeg waits
// on a full pipe until the range is delivered. The stream is still the
// single process's bit for bit, with every join made.
func TestFFmpegParallelRangesLongerThanBuffers(t *testing.T) {
	files := longFixtures(t)
	path := files["mp3"]
	single, sd := decodePath(t, path, Options{Decoder: DecoderFFmpeg, Ranges: 1})
	withRanges(t, 4, 0)
	old := prefetchBudget
	t.Cleanup(func() { prefetchBudget = old })
	for _, n := range []int{2, 3} {
		// About 12 s a range, each buffering about 12/n s ahead.
		prefetchBudget = int64(12*SampleRate) * int64(n-1)
		y, d := decodePath(t, path, Options{Decoder: DecoderFFmpeg, Ranges: n})
		rs, _ := d.src.(*rangeSource)
		if rs == nil || len(rs.starts) < 3 {
			t.Fatalf("%d decoders: not decoded in several ranges", n)
		}
		if aheadCap := prefetchBudget / int64(n); rs.starts[2]-rs.starts[1] <= aheadCap {
			t.Fatalf("%d decoders: ranges of %d samples fit the %d buffered ahead; the test needs longer ones", n, rs.starts[2]-rs.starts[1], aheadCap)
		}
		if len(y) != len(single) || !sameBits(y, single) {
			t.Errorf("%d decoders: %d samples, one process %d, or not the same bits", n, len(y), len(single))
		}
		if d.Info() != sd.Info() {
			t.Errorf("%d decoders: Info %+v, one process %+v", n, d.Info(), sd.Info())
		}
		if rs.joined != len(rs.starts)-1 {
			t.Errorf("%d decoders: %d of %d joins made", n, rs.joined, len(rs.starts)-1)
		}
	}
}

// TestRangeStarts checks the layout of the ranges: equal ranges all
// decoded at once when each fits what it may buffer ahead, else half-long
// first and last ranges around ranges that take turns; always on the
// grid, in order, inside the file.
func TestRangeStarts(t *testing.T) {
	const mi = 1 << 20
	min20 := int64(20 * SampleRate)
	hour, twenty := int64(3600*SampleRate), int64(1200*SampleRate)
	tests := []struct {
		name     string
		total    int64
		decoders int
		budget   int64
		want     []int64
	}{
		{"an hour on 2 decoders takes turns", hour, 2, 20 * mi, []int64{0, 9_600_000, 28_800_000, 48_000_000}},
		{"20 minutes on 2 decoders: two halves at once", twenty, 2, 20 * mi, []int64{0, 9_600_000}},
		{"20 minutes on 4 decoders: four quarters at once", twenty, 4, 20 * mi, []int64{0, 4_800_000, 9_600_000, 14_400_000}},
		{"an hour on the old 10 Mi budget", hour, 2, 10 * mi, []int64{0, 4_800_000, 14_400_000, 24_000_000, 33_600_000, 43_200_000, 52_800_000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rangeStarts(tt.total, tt.decoders, 160, min20, tt.budget)
			if !slices.Equal(got, tt.want) {
				t.Errorf("rangeStarts = %v, want %v", got, tt.want)
			}
		})
	}
	// Invariants over many lengths, decoders and budgets.
	for _, decoders := range []int{2, 3, 4, 8} {
		for _, budget := range []int64{2 * mi, 10 * mi, 20 * mi} {
			for total := 2 * min20; total < 3*hour; total = total*5/4 + 12345 {
				starts := rangeStarts(total, decoders, 160, min20, budget)
				aheadCap := budget / int64(decoders)
				for i, s := range starts {
					end := total
					if i+1 < len(starts) {
						end = starts[i+1]
					}
					switch {
					case s%160 != 0:
						t.Fatalf("%d samples, %d decoders, budget %d: start %d is off the grid (%v)", total, decoders, budget, s, starts)
					case end-s <= 0:
						t.Fatalf("%d samples, %d decoders, budget %d: range %d is empty (%v)", total, decoders, budget, i, starts)
					case end-s < min20 && i+1 < len(starts):
						t.Fatalf("%d samples, %d decoders, budget %d: range %d is %d samples, under the minimum (%v)", total, decoders, budget, i, end-s, starts)
					}
				}
				// (A budget too small for half-long ranges of the minimum
				// length falls back to equal ones.)
				if maxLen := budget / int64(decoders-1); len(starts) > decoders && maxLen/4 >= min20 && starts[1] > aheadCap+160 {
					t.Fatalf("%d samples, %d decoders, budget %d: ranges take turns but the first (%d samples) is longer than a range may buffer ahead (%d)", total, decoders, budget, starts[1], aheadCap)
				}
			}
		}
	}
}
