package flacenc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mewkiz/flac"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
)

// signals are the kinds of audio the encoder must keep bit for bit:
// silence, full-scale extremes, noise (verbatim wins), tones, steps, and
// lengths that are not a multiple of the block size.
func signals() map[string][]int16 {
	rng := rand.New(rand.NewPCG(1, 2))
	out := map[string][]int16{}
	gen := func(name string, n int, f func(i int) float64) {
		s := make([]int16, n)
		for i := range s {
			s[i] = int16(max(-32768, min(32767, math.Round(f(i)))))
		}
		out[name] = s
	}
	gen("silence", 10000, func(int) float64 { return 0 })
	gen("one-sample", 1, func(int) float64 { return 1234 })
	gen("short", 15, func(i int) float64 { return float64(i * 1000) })
	gen("tone", 3*BlockSize+123, func(i int) float64 { return 12000 * math.Sin(float64(i)*2*math.Pi*440/16000) })
	gen("noise", 2*BlockSize, func(int) float64 { return rng.Float64()*65535 - 32768 })
	gen("extremes", BlockSize+7, func(i int) float64 {
		if i%2 == 0 {
			return 32767
		}
		return -32768
	})
	gen("speechlike", 5*BlockSize, func(i int) float64 {
		t := float64(i) / 16000
		return 8000*math.Sin(2*math.Pi*150*t)*math.Sin(2*math.Pi*3*t) + 2000*math.Sin(2*math.Pi*1200*t) + rng.NormFloat64()*100
	})
	gen("steps", 2*BlockSize, func(i int) float64 { return float64((i / 500) * 700 % 30000) })
	return out
}

// decodeMewkiz decodes with github.com/mewkiz/flac, an independent
// decoder that checks every frame's CRC-16.
func decodeMewkiz(t *testing.T, data []byte) []int16 {
	t.Helper()
	st, err := flac.New(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("mewkiz/flac: %v", err)
	}
	if st.Info.SampleRate != 16000 || st.Info.NChannels != 1 || st.Info.BitsPerSample != 16 {
		t.Fatalf("STREAMINFO %+v", st.Info)
	}
	var got []int16
	for {
		f, err := st.ParseNext()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("mewkiz/flac frame: %v", err)
		}
		for _, v := range f.Subframes[0].Samples {
			got = append(got, int16(v))
		}
	}
	if int(st.Info.NSamples) != len(got) {
		t.Errorf("STREAMINFO says %d samples, frames hold %d", st.Info.NSamples, len(got))
	}
	if st.Info.MD5sum != [16]byte{} {
		t.Errorf("STREAMINFO MD5 %x, want it unset (zero)", st.Info.MD5sum)
	}
	return got
}

func TestRoundTripMewkiz(t *testing.T) {
	for name, s := range signals() {
		t.Run(name, func(t *testing.T) {
			data := Encode(s, 16000)
			if got := decodeMewkiz(t, data); !slices.Equal(got, s) {
				t.Fatalf("decoded %d samples differ from the %d encoded", len(got), len(s))
			}
		})
	}
}

// TestRoundTripBackendAudio decodes through backend/audio's own FLAC
// decoder (the built-in one, no ffmpeg), which turns 16-bit samples into
// s/32768.
func TestRoundTripBackendAudio(t *testing.T) {
	dir := t.TempDir()
	for name, s := range signals() {
		if len(s) < 16 {
			continue // below FLAC's smallest block size but for the last block
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".flac")
			if err := os.WriteFile(path, Encode(s, 16000), 0o644); err != nil {
				t.Fatal(err)
			}
			d, err := audio.Open(path, audio.Options{Decoder: audio.DecoderBuiltin})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			got, err := io.ReadAll(floatReader{d})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 4*len(s) {
				t.Fatalf("%d samples, want %d", len(got)/4, len(s))
			}
			for i, v := range s {
				if f := math.Float32frombits(binary.LittleEndian.Uint32(got[4*i:])); f != float32(v)/32768 {
					t.Fatalf("sample %d: %v, want %v", i, f, float32(v)/32768)
				}
			}
		})
	}
}

// floatReader turns a Decoder's float32 samples into little-endian bytes.
type floatReader struct{ d *audio.Decoder }

func (r floatReader) Read(p []byte) (int, error) {
	buf := make([]float32, len(p)/4)
	n, err := r.d.Read(buf)
	for i := range n {
		binary.LittleEndian.PutUint32(p[4*i:], math.Float32bits(buf[i]))
	}
	return 4 * n, err
}

// TestRoundTripFLACTool checks the streams with the reference decoder
// (Debian's flac: apt-get install flac), which verifies the CRCs and the
// MD5.
func TestRoundTripFLACTool(t *testing.T) {
	tool, err := exec.LookPath("flac")
	if err != nil {
		t.Skip("the flac tool is not installed (apt-get install flac)")
	}
	dir := t.TempDir()
	for name, s := range signals() {
		t.Run(name, func(t *testing.T) {
			in := filepath.Join(dir, name+".flac")
			out := filepath.Join(dir, name+".raw")
			if err := os.WriteFile(in, Encode(s, 16000), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(tool, "-s", "-d", "-f", "--force-raw-format", "--endian=little", "--sign=signed", "-o", out, in)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("flac -d: %v: %s", err, msg)
			}
			raw, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]int16, len(raw)/2)
			for i := range got {
				got[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
			}
			if !slices.Equal(got, s) {
				t.Fatalf("flac decoded %d samples that differ from the %d encoded", len(got), len(s))
			}
		})
	}
}

// TestCompresses: silence and tones take far fewer bytes than PCM, and
// noise costs at most a little more than verbatim.
func TestCompresses(t *testing.T) {
	sig := signals()
	for name, maxRatio := range map[string]float64{"silence": 0.01, "tone": 0.5, "speechlike": 0.75, "noise": 1.01} {
		s := sig[name]
		ratio := float64(len(Encode(s, 16000))) / float64(2*len(s))
		t.Logf("%s: %.3f of 16-bit PCM", name, ratio)
		if ratio > maxRatio {
			t.Errorf("%s: %.3f of PCM's bytes, want at most %.2f", name, ratio, maxRatio)
		}
	}
}

func TestCodedNumber(t *testing.T) {
	for _, c := range []struct {
		v    uint64
		want []byte
	}{
		{0, []byte{0}},
		{0x7F, []byte{0x7F}},
		{0x80, []byte{0xC2, 0x80}},
		{0x7FF, []byte{0xDF, 0xBF}},
		{0x800, []byte{0xE0, 0xA0, 0x80}},
		{0xFFFF, []byte{0xEF, 0xBF, 0xBF}},
		{0x10000, []byte{0xF0, 0x90, 0x80, 0x80}},
	} {
		if got := appendCodedNumber(nil, c.v); !bytes.Equal(got, c.want) {
			t.Errorf("coded %#x = % x, want % x", c.v, got, c.want)
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := make([]int16, len(b)/2)
		for i := range s {
			s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		if len(s) == 0 {
			return
		}
		if got := decodeMewkiz(t, Encode(s, 16000)); !slices.Equal(got, s) {
			t.Fatal("round trip differs")
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	s := signals()["speechlike"]
	b.SetBytes(int64(2 * len(s)))
	for b.Loop() {
		Encode(s, 16000)
	}
}

// BenchmarkEncodeSpeech encodes real speech, whose residuals (and so the
// branches of the Rice writer) differ from the synthetic signals': the
// LibriVox clips of Debian's pocketsphinx-testdata, joined.
func BenchmarkEncodeSpeech(b *testing.B) {
	paths, _ := filepath.Glob("/usr/share/pocketsphinx/test/data/librivox/*.wav")
	if len(paths) == 0 {
		b.Skip("pocketsphinx-testdata is not installed: apt install pocketsphinx-testdata")
	}
	var s []int16
	for _, p := range paths {
		d, err := audio.Open(p, audio.Options{Decoder: audio.DecoderBuiltin})
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]float32, 1<<16)
		for {
			n, err := d.Read(buf)
			for _, x := range buf[:n] {
				s = append(s, int16(x*32768)) // 16-bit source: exact
			}
			if err != nil {
				break
			}
		}
		d.Close()
	}
	b.SetBytes(int64(2 * len(s)))
	for b.Loop() {
		Encode(s, 16000)
	}
}

func TestBlockSizeCode(t *testing.T) {
	for n, want := range map[int]byte{192: 1, 576: 2, 1152: 3, 2304: 4, 4608: 5, 256: 8, 512: 9, 1024: 10, 2048: 11, 4096: 12, 8192: 13, 16384: 14, 32768: 15, 4095: 7, 17: 7} {
		if got := blockSizeCode(n); got != want {
			t.Errorf("blockSizeCode(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestFixedAbsSums holds the sums behind the choice of predictor, vector
// and scalar, to the residual formulas of RFC 9639 section 9.2.5, on
// lengths around the vector's groups of eight and on the largest
// residuals 16-bit samples can give.
func TestFixedAbsSums(t *testing.T) {
	want := func(x []int16) (s [maxOrder + 1]uint64) {
		for i := maxOrder; i < len(x); i++ {
			v := func(j int) int64 { return int64(x[i-j]) }
			r := [maxOrder + 1]int64{v(0), v(0) - v(1), v(0) - 2*v(1) + v(2),
				v(0) - 3*v(1) + 3*v(2) - v(3), v(0) - 4*v(1) + 6*v(2) - 4*v(3) + v(4)}
			for k, e := range r {
				s[k] += uint64(max(e, -e))
			}
		}
		return s
	}
	rng := rand.New(rand.NewPCG(9, 10))
	blocks := map[string][]int16{}
	for _, n := range []int{5, 11, 12, 13, 19, 20, 21, 100, 4095, 4096, 5000} {
		b := make([]int16, n)
		for i := range b {
			b[i] = int16(rng.IntN(65536) - 32768)
		}
		blocks[fmt.Sprintf("noise %d", n)] = b
	}
	extreme := make([]int16, 4096) // +max, -max alternating: |4th difference| = 16*32767+
	for i := range extreme {
		extreme[i] = math.MaxInt16
		if i%2 == 1 {
			extreme[i] = math.MinInt16
		}
	}
	blocks["extreme"] = extreme
	blocks["speechlike"] = signals()["speechlike"][:4096]
	vector := useAVX2
	defer func() { useAVX2 = vector }()
	for name, b := range blocks {
		for _, v := range []bool{false, vector} {
			useAVX2 = v
			if got, w := fixedAbsSums(b), want(b); got != w {
				t.Errorf("%s (vector %v): sums %v, want %v", name, v, got, w)
			}
		}
	}
}

// TestRiceAll checks the Rice writer against the definition (RFC 9639
// section 9.2.7.1: the zigzagged value's quotient in unary as zeros and a
// one, then its k low bits), bit by bit: codes of every length, long ones
// over 32 bits among them, from every starting bit offset, with room for
// the fast runs and with a buffer too tight for them.
func TestRiceAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var base []int32
	for range 5000 {
		base = append(base, int32(rng.IntN(600)-300))
	}
	for _, k := range []uint{0, 1, 4, 9, 14, 20, 30} {
		// Codes just over 32 bits and with quotients of 32 and more.
		res := slices.Clone(base)
		for _, q := range []int64{31 - int64(k), 32 - int64(k), 33, 40, 70} {
			if v := max(q, 0) << k / 2; v <= math.MaxInt32 {
				res = append(res, int32(v), int32(-v))
			}
		}
		res = append(res, math.MaxInt32>>(30-min(k, 30)), math.MinInt32>>(30-min(k, 30)))
		for lead := range uint(9) {
			var want []bool
			for range lead {
				want = append(want, true)
			}
			for _, r := range res {
				u := zigzag(r)
				for range u >> k {
					want = append(want, false)
				}
				want = append(want, true)
				for b := int(k) - 1; b >= 0; b-- {
					want = append(want, u>>uint(b)&1 == 1)
				}
			}
			for _, room := range []int{1 << 22, 0} {
				var w bitWriter
				w.reset(make([]byte, 0, room))
				w.write(1<<lead-1, lead)
				w.riceAll(res, k)
				out := w.flush()
				if len(out) != (len(want)+7)/8 {
					t.Fatalf("k %d, lead %d, room %d: %d bytes, want %d", k, lead, room, len(out), (len(want)+7)/8)
				}
				for i, bit := range want {
					if got := out[i/8]>>(7-uint(i%8))&1 == 1; got != bit {
						t.Fatalf("k %d, lead %d, room %d: bit %d is %v, want %v", k, lead, room, i, got, bit)
					}
				}
			}
		}
	}
}
