package audio

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// These tests make their fixtures with ffmpeg at test time and skip, saying
// so, when it is not installed.

func needFFmpeg(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg is not installed: these tests encode their fixtures with it (apt install ffmpeg)")
	}
	return p
}

// ffmpegRun runs ffmpeg with args, failing the test on error.
func ffmpegRun(t testing.TB, args ...string) {
	t.Helper()
	all := append([]string{"-nostdin", "-v", "error", "-y"}, args...)
	if b, err := exec.Command("ffmpeg", all...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(all, " "), err, b)
	}
}

// testSignal is a stereo test signal: on each channel, 50 ms tone bursts
// of rising pitch every 370 ms over a quiet hum, the right's bursts half a
// period after the left's and higher. Bursts give cross-correlation a
// sharp peak, so a shift of one sample shows, and the channels differ.
func testSignal(rate int, seconds float64) (left, right []float32) {
	n := int(seconds * float64(rate))
	left, right = make([]float32, n), make([]float32, n)
	burst := func(t, base float64) float64 {
		ph := math.Mod(t, 0.37)
		if t < 0 || ph >= 0.05 {
			return 0
		}
		w := 0.5 * (1 - math.Cos(2*math.Pi*ph/0.05))
		return 0.4 * w * math.Sin(2*math.Pi*(base+150*math.Mod(math.Floor(t/0.37), 8))*t)
	}
	for i := range n {
		t := float64(i) / float64(rate)
		left[i] = float32(burst(t, 700) + 0.05*math.Sin(2*math.Pi*230*t))
		right[i] = float32(burst(t-0.185, 1300) + 0.05*math.Sin(2*math.Pi*170*t))
	}
	return left, right
}

// steadySNR is snr away from the first and last 10 ms, where ffmpeg's
// resampler sees the edges of the signal differently from ours (it
// extends the signal where ours takes silence).
func steadySNR(ref, y []float32) float64 {
	const edge = SampleRate / 100
	if len(ref) <= 2*edge {
		return math.Inf(1)
	}
	return snr(ref[edge:len(ref)-edge], y[edge:len(ref)-edge])
}

func interleave(l, r []float32) []float32 {
	x := make([]float32, 0, 2*len(l))
	for i := range l {
		x = append(x, l[i], r[i])
	}
	return x
}

func writeFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// codec is one of the encodings the tests make with ffmpeg.
type codec struct {
	name    string
	ext     string
	args    []string
	lossy   bool
	builtin bool
}

var codecs = []codec{
	{"wav-s16", "wav", []string{"-c:a", "pcm_s16le"}, false, true},
	{"wav-s24", "wav", []string{"-c:a", "pcm_s24le"}, false, true},
	{"wav-f32", "wav", []string{"-c:a", "pcm_f32le"}, false, true},
	{"flac", "flac", []string{"-c:a", "flac"}, false, true},
	{"mp3", "mp3", []string{"-c:a", "libmp3lame", "-b:a", "160k"}, true, true},
	{"vorbis", "ogg", []string{"-c:a", "libvorbis", "-q:a", "5"}, true, true},
	{"opus", "opus", []string{"-c:a", "libopus", "-b:a", "96k"}, true, true},
	{"aac", "m4a", []string{"-c:a", "aac", "-b:a", "160k"}, true, false},
}

// fixtureSet is the test signal at one rate, as WAV and in every codec.
type fixtureSet struct {
	rate        int
	left, right []float32
	wav         string
	files       map[string]string
}

var (
	fixturesOnce sync.Once
	fixturesDir  string
	fixtureSets  []*fixtureSet
	fixturesErr  error
)

// fixtures encodes the test signal once per test binary (the encodes run
// in parallel); the files live until the process ends.
func fixtures(t *testing.T) []*fixtureSet {
	t.Helper()
	needFFmpeg(t)
	fixturesOnce.Do(func() {
		fixturesDir, fixturesErr = os.MkdirTemp("", "audio-fixtures-")
		if fixturesErr != nil {
			return
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, rate := range []int{44100, 48000} {
			l, r := testSignal(rate, 2.5)
			fs := &fixtureSet{rate: rate, left: l, right: r, files: map[string]string{}}
			fs.wav = filepath.Join(fixturesDir, fmt.Sprintf("src-%d.wav", rate))
			f, err := os.Create(fs.wav)
			if err == nil {
				err = errors.Join(WriteWAV(f, interleave(l, r), rate, 2, PCM16), f.Close())
			}
			if err != nil {
				fixturesErr = err
				return
			}
			for _, c := range codecs {
				out := filepath.Join(fixturesDir, fmt.Sprintf("%s-%d.%s", c.name, rate, c.ext))
				fs.files[c.name] = out
				wg.Add(1)
				go func() {
					defer wg.Done()
					args := append([]string{"-nostdin", "-v", "error", "-y", "-i", fs.wav}, c.args...)
					if b, err := exec.Command("ffmpeg", append(args, out)...).CombinedOutput(); err != nil {
						mu.Lock()
						fixturesErr = fmt.Errorf("ffmpeg %v: %v\n%s", args, err, b)
						mu.Unlock()
					}
				}()
			}
			fixtureSets = append(fixtureSets, fs)
		}
		wg.Wait()
	})
	if fixturesErr != nil {
		t.Fatal(fixturesErr)
	}
	return fixtureSets
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixturesDir != "" {
		os.RemoveAll(fixturesDir)
	}
	os.Exit(code)
}

func decodePath(t testing.TB, path string, opts Options) ([]float32, *Decoder) {
	t.Helper()
	d, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s, %v): %v", filepath.Base(path), opts.Decoder, err)
	}
	t.Cleanup(func() { d.Close() })
	y := readAll(t, d)
	if err := d.Err(); err != nil {
		t.Fatalf("Err: %v", err)
	}
	return y, d
}

// lagOf finds the shift of y against ref (within ±maxLag samples) with the
// highest normalised correlation, and that correlation.
func lagOf(ref, y []float32, maxLag int) (int, float64) {
	best, bestC := 0, -2.0
	for lag := -maxLag; lag <= maxLag; lag++ {
		var sxy, sxx, syy float64
		for i := range ref {
			j := i + lag
			if j < 0 || j >= len(y) {
				continue
			}
			sxy += float64(ref[i]) * float64(y[j])
			sxx += float64(ref[i]) * float64(ref[i])
			syy += float64(y[j]) * float64(y[j])
		}
		if c := sxy / math.Sqrt(sxx*syy+1e-30); c > bestC {
			best, bestC = lag, c
		}
	}
	return best, bestC
}

// snr is the ratio of ref's power to the power of y - ref, in dB.
func snr(ref, y []float32) float64 {
	var s, e float64
	for i := range ref {
		d := float64(y[i]) - float64(ref[i])
		s += float64(ref[i]) * float64(ref[i])
		e += d * d
	}
	return 10 * math.Log10(s/(e+1e-300))
}

// Every codec, through ffmpeg and through the built-in decoders, decodes to
// the same 16 kHz timeline as our own WAV path: the same length (AAC aside,
// whose encoder pads the end), no shift (the best cross-correlation at lag
// 0, so MP3's encoder delay and Opus's pre-skip are trimmed), and the
// right channel when one is chosen.
func TestDecodersAgree(t *testing.T) {
	for _, fs := range fixtures(t) {
		ref, _ := decodePath(t, fs.wav, Options{Decoder: DecoderBuiltin})
		refL, _ := decodePath(t, fs.wav, Options{Decoder: DecoderBuiltin, Mix: MixChannel, Channel: 0})
		refR, _ := decodePath(t, fs.wav, Options{Decoder: DecoderBuiltin, Mix: MixChannel, Channel: 1})
		for _, c := range codecs {
			for _, mode := range []DecoderMode{DecoderFFmpeg, DecoderBuiltin} {
				if mode == DecoderBuiltin && !c.builtin {
					continue
				}
				t.Run(fmt.Sprintf("%d/%s/%v", fs.rate, c.name, mode), func(t *testing.T) {
					t.Parallel()
					y, d := decodePath(t, fs.files[c.name], Options{Decoder: mode})
					info := d.Info()
					if info.Decoder != mode.String() || info.Channels != 2 || info.Samples != int64(len(y)) {
						t.Errorf("Info %+v after %d samples", info, len(y))
					}
					if d.Warning() != nil || d.Truncated() {
						t.Errorf("Warning %v, Truncated %v", d.Warning(), d.Truncated())
					}
					if c.name != "aac" && len(y) != len(ref) {
						t.Errorf("%d samples, want %d", len(y), len(ref))
					}
					if len(y) < len(ref) {
						t.Fatalf("%d samples, want at least %d", len(y), len(ref))
					}
					lag, corr := lagOf(ref, y, 100)
					minCorr := 0.999999
					if c.lossy {
						minCorr = 0.99
					}
					if lag != 0 || corr < minCorr {
						t.Errorf("best match at a shift of %d samples (correlation %.6f); want 0 and >= %v", lag, corr, minCorr)
					}
					if !c.lossy {
						// Lossless: the same samples as our WAV path, up to the
						// differences between ffmpeg's resampler and ours.
						want := 90.0
						if mode == DecoderBuiltin {
							want = 120
						}
						if s := steadySNR(ref, y); s < want {
							t.Errorf("SNR against the WAV path %.1f dB, want >= %.0f", s, want)
						}
					}
					// ffmpeg mixes with the same filter whatever the codec.
					if mode == DecoderFFmpeg && c.name != "wav-s16" && c.name != "aac" {
						return
					}
					for ch, want := range [][]float32{refL, refR} {
						y, _ := decodePath(t, fs.files[c.name], Options{Decoder: mode, Mix: MixChannel, Channel: ch})
						if lag, corr := lagOf(want, y, 20); lag != 0 || corr < min(minCorr, 0.995) {
							t.Errorf("channel %d: shift %d, correlation %.6f with that channel of the source", ch, lag, corr)
						}
					}
				})
			}
		}
	}
}

// ffmpeg's mono mix is our average, not its default (L+R)/sqrt 2, and its
// resampler agrees with ours to far below anything audible.
func TestFFmpegMatchesBuiltinWAV(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	for _, rate := range []int{8000, 16000, 22050, 44100, 48000, 96000} {
		for _, frames := range []int{1, 441, rate*2 + 17} {
			if frames == 441 && rate != 44100 {
				continue
			}
			t.Run(fmt.Sprint(rate, "/", frames), func(t *testing.T) {
				t.Parallel()
				matchWAV(t, dir, rate, frames)
			})
		}
	}
}

func matchWAV(t *testing.T, dir string, rate, frames int) {
	{
		{
			l, r := testSignal(rate, float64(frames)/float64(rate))
			l, r = l[:frames], r[:frames]
			p := writeFile(t, filepath.Join(dir, fmt.Sprintf("%d-%d.wav", rate, frames)), wavBytes(t, interleave(l, r), rate, 2, Float32))
			ref, _ := decodePath(t, p, Options{Decoder: DecoderBuiltin})
			y, d := decodePath(t, p, Options{Decoder: DecoderFFmpeg})
			if len(y) != len(ref) || d.Info().Samples != int64(len(ref)) {
				t.Fatalf("%d Hz, %d frames: ffmpeg path gave %d samples (Info %d), built-in %d", rate, frames, len(y), d.Info().Samples, len(ref))
			}
			if frames > 1000 {
				if s := steadySNR(ref, y); s < 90 {
					t.Errorf("%d Hz: SNR %.1f dB between the ffmpeg and built-in paths", rate, s)
				}
			}
		}
	}
}

// ffprobe and "ffmpeg -i" (used when ffprobe is missing) read the same
// stream facts.
func TestProbeWithoutFFprobe(t *testing.T) {
	tools, err := findFFmpeg(Options{Decoder: DecoderFFmpeg})
	if err != nil || tools.ffprobe == "" {
		t.Skipf("no ffprobe beside ffmpeg (%v)", err)
	}
	for _, fs := range fixtures(t)[:1] {
		for name, path := range fs.files {
			t.Run(filepath.Base(path), func(t *testing.T) {
				t.Parallel()
				probeBoth(t, tools, name, path)
			})
		}
	}
}

func probeBoth(t *testing.T, tools ffTools, name, path string) {
	{
		{
			kind := fileKind{name: "x"}
			a, err := probe(tools, path, kind)
			if err != nil {
				t.Fatal(err)
			}
			b, err := probe(ffTools{ffmpeg: tools.ffmpeg}, path, kind)
			if err != nil {
				t.Fatal(err)
			}
			if a.index != b.index || a.rate != b.rate || a.channels != b.channels || a.codec != b.codec ||
				math.Abs(a.duration-b.duration) > 0.011 || a.format != b.format {
				t.Errorf("%s: ffprobe %+v, ffmpeg -i %+v", name, a, b)
			}
		}
	}
}

func TestLayoutChannels(t *testing.T) {
	for s, want := range map[string]int{"mono": 1, "stereo": 2, "5.1(side)": 6, "5.1": 6, "7.1": 8, "3 channels": 3, "quad": 4, "weird": 0} {
		if got := layoutChannels(s); got != want {
			t.Errorf("%q: %d channels, want %d", s, got, want)
		}
	}
	if got := panFilter(2, -1); got != "pan=mono|c0=0.5*c0+0.5*c1" {
		t.Errorf("stereo average: %q", got)
	}
	if got := panFilter(6, 4); got != "pan=mono|c0=c4" {
		t.Errorf("channel 4: %q", got)
	}
	if got := panFilter(1, -1); got != "" {
		t.Errorf("mono: %q", got)
	}
}

// A video's audio track decodes, the video is ignored; a video without
// sound fails clearly with ffmpeg, and says ffmpeg is needed without it.
func TestVideoFiles(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	l, r := testSignal(44100, 2)
	src := writeFile(t, filepath.Join(dir, "src.wav"), wavBytes(t, interleave(l, r), 44100, 2, PCM16))
	withAudio := filepath.Join(dir, "movie.mp4")
	ffmpegRun(t, "-f", "lavfi", "-i", "color=c=red:s=64x48:r=10:d=2", "-i", src, "-map", "0:v", "-map", "1:a",
		"-c:v", "mpeg4", "-c:a", "aac", "-shortest", withAudio)
	silent := filepath.Join(dir, "silent.mkv")
	ffmpegRun(t, "-f", "lavfi", "-i", "color=c=red:s=64x48:r=10:d=1", "-c:v", "mpeg4", silent)
	// Audio that starts half a second into the video is padded so times
	// stay the video's.
	late := filepath.Join(dir, "late.mkv")
	ffmpegRun(t, "-f", "lavfi", "-i", "color=c=red:s=64x48:r=10:d=3", "-itsoffset", "0.5", "-i", src,
		"-map", "0:v", "-map", "1:a", "-c:v", "mpeg4", "-c:a", "flac", late)

	ref, _ := decodePath(t, src, Options{Decoder: DecoderBuiltin})
	y, d := decodePath(t, withAudio, Options{})
	if lag, corr := lagOf(ref, y, 100); lag != 0 || corr < 0.99 || d.Info().Decoder != "ffmpeg" {
		t.Errorf("MP4 audio track: shift %d, correlation %.4f, Info %+v", lag, corr, d.Info())
	}
	y, _ = decodePath(t, late, Options{})
	if lag, corr := lagOf(ref, y, 9000); lag != 8000 || corr < 0.999 {
		t.Errorf("audio starting at 0.5 s: found at a shift of %d samples (correlation %.4f), want 8000", lag, corr)
	}

	_, err := Open(silent, Options{})
	if !errors.Is(err, ErrNoAudio) || !errors.Is(err, ErrUnsupportedFormat) || !strings.Contains(err.Error(), "no audio stream in this Matroska") ||
		!strings.Contains(err.Error(), "only video") {
		t.Errorf("video without sound: %v", err)
	}
	_, err = Open(withAudio, Options{Decoder: DecoderBuiltin})
	if !errors.Is(err, ErrNeedsFFmpeg) || !strings.Contains(err.Error(), "MP4/M4A needs ffmpeg: install it") {
		t.Errorf("MP4 without ffmpeg: %v", err)
	}
}

// How the decoder is chosen: options first, then $NEMO_TRANSCRIBE_FFMPEG,
// then PATH.
func TestDecoderChoice(t *testing.T) {
	ffmpeg := needFFmpeg(t)
	dir := t.TempDir()
	p := writeFile(t, filepath.Join(dir, "a.wav"), wavBytes(t, make([]float32, 800), 8000, 1, PCM16))
	m4a := filepath.Join(dir, "a.m4a")
	ffmpegRun(t, "-i", p, "-c:a", "aac", m4a)
	open := func(opts Options) (string, error) {
		d, err := Open(p, opts)
		if err != nil {
			return "", err
		}
		defer d.Close()
		return d.Info().Decoder, nil
	}
	cases := []struct {
		env  string
		opts Options
		want string // decoder, or a substring of the error
	}{
		{"", Options{}, "ffmpeg"},
		{"", Options{Decoder: DecoderBuiltin}, "builtin"},
		{"off", Options{}, "builtin"},
		{"off", Options{Decoder: DecoderFFmpeg}, "ffmpeg"},
		{ffmpeg, Options{}, "ffmpeg"},
		{"", Options{FFmpegPath: ffmpeg}, "ffmpeg"},
		{"", Options{FFmpegPath: filepath.Join(dir, "no-ffmpeg")}, "ffmpeg not found at"},
		{filepath.Join(dir, "nope"), Options{}, "ffmpeg not found at"},
		{filepath.Join(dir, "nope"), Options{Decoder: DecoderBuiltin}, "builtin"},
		{"", Options{Decoder: 9}, "invalid audio options"},
	}
	for _, c := range cases {
		t.Setenv(FFmpegEnv, c.env)
		got, err := open(c.opts)
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("env %q, %+v: %q, want %q", c.env, c.opts, got, c.want)
		}
	}
	t.Setenv(FFmpegEnv, "off")
	if _, err := Open(m4a, Options{}); !errors.Is(err, ErrNeedsFFmpeg) {
		t.Errorf("M4A with ffmpeg off: %v", err)
	}
	// With no ffmpeg on PATH, DecoderFFmpeg says how to install it.
	t.Setenv(FFmpegEnv, "")
	t.Setenv("PATH", dir)
	if _, err := Open(p, Options{Decoder: DecoderFFmpeg}); !errors.Is(err, ErrFFmpeg) || !strings.Contains(err.Error(), "install it") {
		t.Errorf("no ffmpeg: %v", err)
	}
	if got, err := open(Options{}); err != nil || got != "builtin" {
		t.Errorf("no ffmpeg, auto: %q %v", got, err)
	}
	for _, s := range []string{"auto", "builtin", "ffmpeg"} {
		if m, err := ParseDecoderMode(s); err != nil || m.String() != s {
			t.Errorf("ParseDecoderMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseDecoderMode("gstreamer"); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("ParseDecoderMode(gstreamer): %v", err)
	}
}

// Files cut short decode what is there and say so; both paths.
func TestTruncatedFiles(t *testing.T) {
	for _, fs := range fixtures(t)[:1] {
		for _, c := range codecs {
			full, err := os.ReadFile(fs.files[c.name])
			if err != nil {
				t.Fatal(err)
			}
			cut := writeFile(t, filepath.Join(t.TempDir(), "cut."+c.ext), full[:len(full)*6/10])
			for _, mode := range []DecoderMode{DecoderFFmpeg, DecoderBuiltin} {
				if mode == DecoderBuiltin && !c.builtin {
					continue
				}
				t.Run(c.name+"/"+mode.String(), func(t *testing.T) {
					d, err := Open(cut, Options{Decoder: mode})
					if c.name == "aac" && err != nil {
						// ffmpeg writes the index at the end of an M4A: cut, it
						// is unreadable, and says so.
						if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "damaged M4A/AAC") {
							t.Fatalf("Open: %v", err)
						}
						return
					}
					if err != nil {
						t.Fatalf("Open: %v", err)
					}
					defer d.Close()
					y := readAll(t, d)
					seconds := float64(len(y)) / SampleRate
					if seconds < 0.8 || seconds > 1.8 || d.Err() != nil {
						t.Errorf("decoded %.2f s of 2.5 (Err %v)", seconds, d.Err())
					}
					// Ogg and MP3 without a frame count cannot know; the rest
					// report the truncation.
					knows := !(c.name == "vorbis" && mode == DecoderFFmpeg) && !(c.name == "opus" && mode == DecoderFFmpeg)
					if w := d.Warning(); knows && (!errors.Is(w, ErrTruncated) || !d.Truncated() || !d.Info().Truncated) {
						t.Errorf("Warning %v, Truncated %v, Info %+v", w, d.Truncated(), d.Info())
					}
					if info := d.Info(); info.Samples != int64(len(y)) {
						t.Errorf("Info.Samples %d after %d samples", info.Samples, len(y))
					}
				})
			}
		}
	}
}

// Damaged and foreign files fail with a clear error through either path,
// and never panic.
func TestBadFiles(t *testing.T) {
	sets := fixtures(t)
	dir := t.TempDir()
	read := func(name string) []byte {
		b, err := os.ReadFile(sets[0].files[name])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	flac, mp3, ogg, opus := read("flac"), read("mp3"), read("vorbis"), read("opus")
	damage := func(b []byte, at int, with string) []byte {
		b = append([]byte(nil), b...)
		copy(b[at:], with)
		return b
	}
	cases := []struct {
		name    string
		data    []byte
		modes   []DecoderMode
		is      error
		says    string
		decodes bool // opens, and the damage shows while reading
	}{
		{"empty", nil, []DecoderMode{DecoderFFmpeg, DecoderBuiltin}, ErrEmpty, "file is empty", false},
		{"text", []byte("meeting notes, not audio\n"), []DecoderMode{DecoderFFmpeg}, ErrUnsupportedFormat, "not a media file ffmpeg can read", false},
		{"text", []byte("meeting notes, not audio\n"), []DecoderMode{DecoderBuiltin}, ErrUnsupportedFormat, "unrecognised content", false},
		{"FLAC header only", flac[:30], []DecoderMode{DecoderFFmpeg, DecoderBuiltin}, ErrCorrupt, "FLAC", false},
		{"FLAC bad STREAMINFO", damage(flac, 8, "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), []DecoderMode{DecoderBuiltin}, ErrCorrupt, "FLAC", false},
		{"Ogg Vorbis header cut", ogg[:60], []DecoderMode{DecoderBuiltin}, ErrCorrupt, "Ogg Vorbis", false},
		{"Ogg Vorbis header cut", ogg[:60], []DecoderMode{DecoderFFmpeg}, ErrCorrupt, "", false},
		{"Opus header cut", opus[:40], []DecoderMode{DecoderBuiltin}, ErrCorrupt, "Ogg Opus", false},
		{"Opus zero channels", damage(opus, 37, "\x00"), []DecoderMode{DecoderBuiltin}, ErrCorrupt, "Ogg Opus", false},
		{"MP3 frames garbled", damage(mp3, 2000, strings.Repeat("\xff\xfb\x00garbage", 200)), []DecoderMode{DecoderBuiltin, DecoderFFmpeg}, nil, "", true},
		{"ADPCM WAV", riff("RIFF", "WAVE", chunk("fmt ", fmtBody(0x0002, 1, 16000, 256, 4), true), chunk("data", make([]byte, 512), true)),
			[]DecoderMode{DecoderBuiltin}, ErrNeedsFFmpeg, "WAV with Microsoft ADPCM audio needs ffmpeg", false},
	}
	for _, c := range cases {
		for _, mode := range c.modes {
			p := writeFile(t, filepath.Join(dir, "bad"), c.data)
			d, err := Open(p, Options{Decoder: mode})
			if c.decodes {
				if err != nil {
					t.Errorf("%s/%v: Open: %v", c.name, mode, err)
					continue
				}
				buf := make([]float32, 4096)
				for {
					if _, err := d.Read(buf); err != nil {
						break
					}
				}
				d.Close()
				continue
			}
			if err == nil {
				// A header we read ourselves may look whole to us and
				// still fail in ffmpeg: then reading fails.
				for {
					if _, err = d.Read(make([]float32, 4096)); err != nil {
						break
					}
				}
				d.Close()
				if err == io.EOF || mode != DecoderFFmpeg {
					t.Errorf("%s/%v: no error", c.name, mode)
					continue
				}
			}
			if (c.is != nil && !errors.Is(err, c.is)) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("%s/%v: %v, want %v saying %q", c.name, mode, err, c.is, c.says)
			}
		}
	}
}

// The LAME tag ffmpeg writes is read as LAME writes it.
func TestMP3Tag(t *testing.T) {
	sets := fixtures(t)
	for _, fs := range sets {
		b, err := os.ReadFile(fs.files["mp3"])
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(fs.files["mp3"])
		if err != nil {
			t.Fatal(err)
		}
		k, err := sniffFile(f)
		f.Close()
		if err != nil || k.name != "MP3" {
			t.Fatalf("sniff: %+v %v", k, err)
		}
		tag := parseMP3Tag(b[k.offset:])
		frames := int64(math.Ceil(float64(len(fs.left)+tag.delay+tag.padding) / 1152))
		if !tag.present || tag.delay != 1105-mp3DecoderDelay || tag.frames != frames ||
			int64(len(fs.left)) != tag.frames*1152-int64(tag.delay+tag.padding) || !strings.HasPrefix(tag.encoder, "Lav") {
			t.Errorf("%d Hz: tag %+v for %d samples", fs.rate, tag, len(fs.left))
		}
	}
	if tag := parseMP3Tag([]byte{0xFF, 0xFB, 0x90, 0x00}); tag.present || tag.frames != -1 || tag.delay != -1 {
		t.Errorf("a bare header: %+v", tag)
	}
}

// Opus packet durations from the table of contents (RFC 6716 3.1).
func TestOpusPacketSamples(t *testing.T) {
	for _, c := range []struct {
		p    []byte
		want int
	}{
		{nil, 0},
		{[]byte{0 << 3}, 480},        // SILK NB 10 ms
		{[]byte{3 << 3}, 2880},       // SILK NB 60 ms
		{[]byte{13 << 3}, 960},       // hybrid FB 20 ms
		{[]byte{16 << 3}, 120},       // CELT 2.5 ms
		{[]byte{31<<3 | 1}, 1920},    // CELT 20 ms, two frames
		{[]byte{31<<3 | 3, 3}, 2880}, // CELT 20 ms, three frames
		{[]byte{31<<3 | 3, 63}, 0},   // 63 frames of 20 ms: too long
		{[]byte{31<<3 | 3}, 0},       // count byte missing
	} {
		if got := opusPacketSamples(c.p); got != c.want {
			t.Errorf("%x: %d, want %d", c.p, got, c.want)
		}
	}
}
